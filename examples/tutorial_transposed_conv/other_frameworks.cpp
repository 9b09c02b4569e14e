// "Why other frameworks print different numbers": the seed's Flax outputs recomputed with convgrad
// ops, and the exact relation between Flax's and PyTorch's transposed convolution.
#include <fmt/format.h>

#include "handwritten.h"
#include "steps.h"

namespace tutorial {

using namespace convgrad;

namespace {

constexpr const char* kSeed = "seed (Flax)";

Tensor as_nchw(const Tensor& t) { return reshape(t, {1, 1, t.size(0), t.size(1)}); }
std::string pads_str(PadPair p) { return fmt::format("(lo, hi) = ({}, {}) per dim", p.lo, p.hi); }

// PyTorch's op equals the recipe "dilate, pad k - 1 - p, correlate with the flipped kernel".
void check_pytorch_recipe(Report& report) {
  Tensor X = as_nchw(tensor({{0, 1}, {2, 3}})), K = as_nchw(tensor({{0, 1}, {2, 3}}));
  bool ok = true;
  for (int64_t s : {1, 2})
    for (int64_t p : {0, 1})
      ok =
          ok && allclose(torch_conv_transpose_as_correlation(X, K, s, p),
                         conv_transpose2d(X, K, Tensor(), ConvTranspose2dFuncOptions().stride(s).padding(p)));
  Generator gen(7);
  Tensor x = randn({2, 4, 5, 5}, gen), w = randn({4, 3, 5, 5}, gen);  // (in, out, kh, kw)
  ok = ok && allclose(torch_conv_transpose_as_correlation(x, w, 3, 2),
                      conv_transpose2d(x, w, Tensor(), ConvTranspose2dFuncOptions().stride(3).padding(2)),
                      1e-4, 1e-4);
  report.text("Checked on the book's X, K (s = 1, 2; p = 0, 1) and on 4 -> 3 channels, k 5, s 3, p 2:");
  report.expect(ok, "conv_transpose2d = dilate by s, pad k - 1 - p, correlate with the flipped kernel");
}

}  // namespace

void section_other_frameworks(Report& report) {
  report.section("7", "Why other frameworks print different numbers");
  report.text("The seed text is the book's JAX/Flax edition. Flax's nn.ConvTranspose defaults to");
  report.text("transpose_kernel=False and padding='SAME' (jax.lax.conv_transpose): it dilates the");
  report.text("input by the stride, pads it, and correlates it with the kernel AS STORED. PyTorch's");
  report.text("ConvTranspose2d is the true transpose of Conv2d (its input gradient): the same recipe");
  report.text("with the kernel rotated by 180 degrees and padding k - 1 - p.");
  check_pytorch_recipe(report);

  Tensor X = as_nchw(tensor({{0, 1}, {2, 3}})), K = as_nchw(tensor({{0, 1}, {2, 3}}));

  report.subsection("Step 2 in Flax: 'SAME' padding, kernel not flipped");
  const PadPair same1 = lax_transpose_same_padding(2, 1);
  report.show("'SAME' pads", pads_str(same1));
  report.compare("the unflipped recipe gives the seed's [[0, 3], [6, 14]]",
                 flax_conv_transpose(X, K, 1, same1, same1), "flax recipe",
                 as_nchw(tensor({{0, 3}, {6, 14}})), kSeed);

  report.subsection("Step 3 in Flax: padding");
  report.text("Flax pads the dilated input where PyTorch crops the output, so PyTorch's");
  report.text("padding=1 is explicit padding k - 1 - p = 0 there. Unflipped, the 1 x 1 output is the");
  report.text("centre of the correlation 0*0 + 1*1 + 2*2 + 3*3 = 14; PyTorch's flipped kernel gives 4.");
  report.compare("the unflipped recipe gives the seed's [[[[14.]]]]",
                 flax_conv_transpose(X, K, 1, {0, 0}, {0, 0}), "flax recipe", full({1, 1, 1, 1}, 14), kSeed);

  report.subsection("Step 4 in Flax: stride 2, 'SAME'");
  report.text("'SAME' makes out = 2 * 2 = 4; the seed elides the middle rows.");
  const PadPair same2 = lax_transpose_same_padding(2, 2);
  report.show("'SAME' pads", pads_str(same2));
  Tensor Y4 = flax_conv_transpose(X, K, 2, same2, same2);
  report.show("flax recipe", Y4);
  report.show(kSeed, "row 0 [0, 0, 3, 2], row 3 [2, 0, 3, 0], Y[1, 0] = 0, Y[2, 3] = 6");
  Tensor seed4 = as_nchw(tensor({{0, 0, 3, 2}, {0, 0, 0, 0}, {0, 0, 0, 6}, {2, 0, 3, 0}}));
  Tensor shown = as_nchw(tensor({{1, 1, 1, 1}, {1, 0, 0, 0}, {0, 0, 0, 1}, {1, 1, 1, 1}}));
  report.expect(Y4.shape() == seed4.shape() && allclose(Y4 * shown, seed4 * shown),
                "the unflipped recipe matches every value the seed shows");

  report.subsection("Step 5 in Flax: the shape round trip");
  report.text("nn.Conv 'SAME' with stride 3 maps 16 to ceil(16 / 3) = 6, like PyTorch's padding 2;");
  report.text("nn.ConvTranspose 'SAME' maps 6 to 6 * 3 = 18, not back to 16.");
  Generator gen(3);
  Tensor Xm = rand({1, 10, 16, 16}, gen);
  Tensor conv_w = uniform({20, 10, 5, 5}, -0.06f, 0.06f, gen);   // (out, in, kh, kw)
  Tensor tconv_w = uniform({10, 20, 5, 5}, -0.06f, 0.06f, gen);  // Flax's HWIO kernel as (out, in)
  Tensor Ym = flax_conv_same(Xm, conv_w, 3);
  const PadPair same3 = lax_transpose_same_padding(5, 3);
  Tensor Zm = flax_conv_transpose(Ym, tconv_w, 3, same3, same3);
  report.show("conv(X)", size_str(Ym.shape()));
  report.show("'SAME' pads", pads_str(same3));
  report.show("tconv(...)", size_str(Zm.shape()));
  report.show("tconv(conv(X)).shape == X.shape", Zm.shape() == Xm.shape() ? "True" : "False");
  report.expect(Ym.shape() == Shape{1, 20, 6, 6} && Zm.shape() == Shape{1, 10, 18, 18},
                "Flax's shapes: 16 x 16 -> 6 x 6 -> 18 x 18, so the check is False, as the seed prints");

  report.subsection("Flipped kernel: PyTorch's numbers");
  report.text("Flip the kernel (Flax's transpose_kernel=True) and pad k - 1 - p per side:");
  Tensor Kf = flip2d(K);
  bool same_as_torch = allclose(flax_conv_transpose(X, Kf, 1, {1, 1}, {1, 1}), conv_transpose2d(X, K)) &&
                       allclose(flax_conv_transpose(X, Kf, 1, {0, 0}, {0, 0}),
                                conv_transpose2d(X, K, Tensor(), ConvTranspose2dFuncOptions().padding(1))) &&
                       allclose(flax_conv_transpose(X, Kf, 2, {1, 1}, {1, 1}),
                                conv_transpose2d(X, K, Tensor(), ConvTranspose2dFuncOptions().stride(2)));
  report.expect(same_as_torch, "flipped recipe = conv_transpose2d for steps 2, 3 and 4");

  report.subsection("Which convention is which");
  report.text("PyTorch ConvTranspose2d and convgrad conv_transpose2d: the true transposed");
  report.text("  convolution, the gradient of a convolution; padding p crops the full output. This is");
  report.text("  what the book teaches. Keras Conv2DTranspose and Flax with transpose_kernel=True");
  report.text("  compute the same transpose (the same numbers for the same padding).");
  report.text("Flax nn.ConvTranspose (default transpose_kernel=False): a fractionally strided");
  report.text("  correlation with the unflipped kernel; 'SAME' pads the dilated input so that");
  report.text("  out = in * stride.");
  report.text("For a kernel symmetric under a 180-degree rotation (the bilinear kernel an FCN starts");
  report.text("  from) the two conventions differ only in padding.");
}

}  // namespace tutorial
