// d2l 14.10 steps 1-6: each prints convgrad's result beside the book's value and checks it
// (allclose for tensors, equality for shapes).
#include "steps.h"

#include <fmt/format.h>

#include "handwritten.h"

namespace tutorial {

using namespace convgrad;

namespace {

constexpr const char* kBook = "book (PyTorch 1.13)";

// The book's running example: X = K = [[0, 1], [2, 3]].
Tensor book_X() { return tensor({{0, 1}, {2, 3}}); }
Tensor book_K() { return tensor({{0, 1}, {2, 3}}); }

// (h, w) -> (1, 1, h, w): one image, one channel, as the framework ops take it.
Tensor as_nchw(const Tensor& t) { return reshape(t, {1, 1, t.size(0), t.size(1)}); }

}  // namespace

void step_hand_written(Report& report) {
  report.section("1", "Hand-written transposed convolution");
  report.text("Every input element scatters a copy of the kernel, scaled by its value, into Y:");
  report.text("Y[i:i+h, j:j+w] += X[i, j] * K. Y has shape (nh + kh - 1, nw + kw - 1).");
  Tensor X = book_X(), K = book_K();
  report.show("X", X);
  report.show("K", K);
  Tensor Y = trans_conv(X, K);
  report.compare("trans_conv(X, K) equals the book", Y, "trans_conv(X, K)",
                 tensor({{0, 0, 1}, {0, 4, 6}, {4, 12, 9}}), kBook);
}

void step_framework_op(Report& report) {
  report.section("2", "The framework operator: conv_transpose2d");
  report.text("Same inputs as (batch, channels, h, w) = (1, 1, 2, 2); the weight of a transposed");
  report.text("convolution is (in, out, kh, kw). No bias.");
  Tensor X = as_nchw(book_X()), K = as_nchw(book_K());
  Tensor Y = conv_transpose2d(X, K);
  report.compare("conv_transpose2d(X, K) equals the book", Y, "conv_transpose2d(X, K)",
                 as_nchw(tensor({{0, 0, 1}, {0, 4, 6}, {4, 12, 9}})), kBook);
  report.expect(allclose(Y, as_nchw(trans_conv(book_X(), book_K()))),
                "conv_transpose2d agrees with the hand-written trans_conv");
}

void step_padding(Report& report) {
  report.section("3", "Padding = 1 removes rows and columns from the output");
  report.text("In a transposed convolution, padding p crops p rows/columns from each side of the");
  report.text("full output instead of adding zeros to the input: out = n + k - 1 - 2p.");
  Tensor X = as_nchw(book_X()), K = as_nchw(book_K());
  Tensor Y = conv_transpose2d(X, K, Tensor(), ConvTranspose2dFuncOptions().padding(1));
  report.compare("padding=1 gives the book's [[[[4.]]]]", Y, "padding=1", full({1, 1, 1, 1}, 4), kBook);
  Tensor full = conv_transpose2d(X, K);
  report.expect(allclose(Y, slice(slice(full, 2, 1, 2), 3, 1, 2)),
                "it is the centre of the unpadded 3 x 3 output (one row/column cropped per side)");
}

void step_stride(Report& report) {
  report.section("4", "Stride = 2: the kernel copies land twice as far apart");
  report.text("Each input element's kernel is placed at (2i, 2j): out = (n - 1) * s + k.");
  Tensor X = as_nchw(book_X()), K = as_nchw(book_K());
  Tensor Y = conv_transpose2d(X, K, Tensor(), ConvTranspose2dFuncOptions().stride(2));
  report.compare("stride=2 equals the book", Y, "stride=2",
                 as_nchw(tensor({{0, 0, 0, 1}, {0, 0, 2, 3}, {0, 2, 0, 3}, {4, 6, 6, 9}})), kBook);
  // Stride s = s - 1 zeros inserted between input elements, then the stride-1 scatter.
  Tensor X_dilated = dilate2d(book_X(), 2);
  report.show("dilate(X, 2)", X_dilated);
  report.expect(allclose(Y, as_nchw(trans_conv(X_dilated, book_K()))),
                "stride 2 = trans_conv of X with a zero inserted between neighbours");
}

void step_multi_channel(Report& report) {
  report.section("5", "Multiple channels: the shape round trip");
  report.text("Input channels reduce-add through the kernel; output channels stack in parallel.");
  report.text("conv  = Conv2d(10, 20, kernel_size=5, padding=2, stride=3)");
  report.text("tconv = ConvTranspose2d(20, 10, kernel_size=5, padding=2, stride=3)");
  const int64_t k = 5, p = 2, s = 3, d = 1;
  Generator gen(14);
  Tensor X = rand({1, 10, 16, 16}, gen);
  // The layers draw their weights and biases like PyTorch's default initialisation.
  Conv2d conv(Conv2dOptions(10, 20, k).padding(p).stride(s), gen);
  ConvTranspose2d tconv(ConvTranspose2dOptions(20, 10, k).padding(p).stride(s), gen);
  report.show("conv", fmt::format("weight {} (out, in, kh, kw)", size_str(conv.weight.shape())));
  report.show("tconv", fmt::format("weight {} (in, out, kh, kw)", size_str(tconv.weight.shape())));

  Tensor Y = conv(X);
  Tensor Z = tconv(Y);
  report.show("X.shape", size_str(X.shape()));
  report.show("conv(X)", size_str(Y.shape()));
  report.show("tconv(...)", size_str(Z.shape()));

  report.text("Shape rules (d = dilation, op = output_padding):");
  report.text("  conv out       = floor((in + 2p - d(k - 1) - 1) / s) + 1");
  report.text("  transposed out = (in - 1) s - 2p + d(k - 1) + op + 1");
  const int64_t conv_out = (16 + 2 * p - d * (k - 1) - 1) / s + 1;
  const int64_t tconv_out = (conv_out - 1) * s - 2 * p + d * (k - 1) + 0 + 1;
  report.show("conv out", fmt::format("floor((16 + 2*2 - 1*(5 - 1) - 1) / 3) + 1 = {}", conv_out));
  report.show("tconv out", fmt::format("(6 - 1)*3 - 2*2 + 1*(5 - 1) + 0 + 1 = {}", tconv_out));
  report.expect(Y.shape() == Shape{1, 20, conv_out, conv_out},
                fmt::format("conv(X) is (1, 20, {0}, {0}), as the formula says", conv_out));
  report.expect(Z.shape() == Shape{1, 10, tconv_out, tconv_out},
                fmt::format("tconv(conv(X)) is (1, 10, {0}, {0}), as the formula says", tconv_out));
  report.show("tconv(conv(X)).shape == X.shape", Z.shape() == X.shape() ? "True" : "False");
  report.expect(Z.shape() == X.shape(), "the round trip restores X's shape (book: True)");

  // Channel mixing: output channel o is the sum over input channels c of single-channel
  // transposed convolutions of Y[:, c] with the kernel tconv_w[c, o].
  Tensor channel0 = zeros({1, 1, 16, 16});
  for (int64_t c = 0; c < 20; ++c) {
    channel0 =
        channel0 + conv_transpose2d(slice(Y, 1, c, c + 1), slice(slice(tconv.weight, 0, c, c + 1), 1, 0, 1),
                                    Tensor(), ConvTranspose2dFuncOptions().stride(s).padding(p));
  }
  Tensor got0 = slice(Z, 1, 0, 1) - select(tconv.bias, 0, 0);
  report.expect(allclose(got0, channel0, 1e-4, 1e-5),
                "output channel 0 = sum over the 20 input channels of 1-channel transposed convs");

  // Several input sizes share one conv output size; output_padding picks which one comes back.
  Tensor X17 = rand({1, 10, 17, 17}, gen);
  Tensor Y17 = conv(X17);
  report.expect(Y17.shape() == Y.shape() && tconv.forward(Y17, {17, 17}).shape() == X17.shape(),
                "a 17 x 17 input also gives 6 x 6; tconv.forward(y, {17, 17}) (output_padding 1) "
                "restores it");
  report.text("The round trip restores the shape, not the values: a transposed convolution is");
  report.text("not an inverse (\"deconvolution\" is a misnomer).");
}

void step_matrix(Report& report) {
  report.section("6", "Convolution as a matrix product, transposed convolution as its transpose");
  Tensor X = reshape(arange(9), {3, 3});
  Tensor K = tensor({{1, 2}, {3, 4}});
  report.show("X", X);
  report.show("K", K);
  Tensor Y = corr2d(X, K);
  report.compare("corr2d(X, K) equals the book", Y, "Y = corr2d(X, K)", tensor({{27, 37}, {57, 67}}), kBook);
  report.expect(allclose(as_nchw(Y), conv2d(as_nchw(X), as_nchw(K))),
                "conv2d (the framework op) gives the same Y");

  Tensor W = kernel2matrix(K, 3, 3);
  report.compare("kernel2matrix(K) equals the book", W, "W = kernel2matrix(K)",
                 tensor({{1, 2, 0, 3, 4, 0, 0, 0, 0},
                         {0, 1, 2, 0, 3, 4, 0, 0, 0},
                         {0, 0, 0, 1, 2, 0, 3, 4, 0},
                         {0, 0, 0, 0, 1, 2, 0, 3, 4}}),
                 kBook);
  Tensor WX = reshape(matmul(W, reshape(X, {-1})), {2, 2});
  report.show("Y == W @ x", bool_str(eq(Y, WX)));
  report.expect(allclose(Y, WX), "convolution = multiplication by W (all True)");

  Tensor Z = trans_conv(Y, K);
  report.compare("trans_conv(Y, K) equals the book", Z, "Z = trans_conv(Y, K)",
                 tensor({{27, 91, 74}, {138, 400, 282}, {171, 429, 268}}), kBook);
  Tensor WtY = reshape(matmul(transpose(W, 0, 1), reshape(Y, {-1})), {3, 3});
  report.show("Z == W.T @ y", bool_str(eq(Z, WtY)));
  report.expect(allclose(Z, WtY), "transposed convolution = multiplication by W^T (all True)");

  // Autograd says the same: the gradient of conv2d with respect to its input is W^T applied to
  // the output gradient, i.e. the transposed convolution.
  Tensor x = clone_data(as_nchw(X)).set_requires_grad();
  conv2d(x, as_nchw(K)).backward(as_nchw(Y));
  report.text("Backward of conv2d multiplies by W^T: with output gradient Y, x.grad is Z.");
  report.expect(allclose(x.grad(), as_nchw(Z)), "conv2d's input gradient = conv_transpose2d = W^T");
}

}  // namespace tutorial
