// Conv2d's padding_mode (zeros, reflect, replicate, circular): PyTorch goldens of forward, input and
// parameter gradients (tools/gen_pad_pool_goldens.py -> tests/data/padpool/conv2d_*.npz), gradchecks,
// printing and unchanged state-dict keys.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "autograd/gradcheck.h"
#include "autograd/ops_pad.h"
#include "core/random.h"
#include "layers/conv.h"
#include "padpool_util.h"

using namespace convgrad;
using padpool::check_close;
using padpool::leaf;

namespace {

// Loads the golden's parameters into `conv`, runs forward + backward and compares everything.
void check_golden(Conv2d& conv, const std::string& name) {
  INFO("golden " << name);
  auto gd = padpool::golden(name);
  std::map<std::string, Tensor> state;
  for (const auto& [k, v] : gd)
    if (k.rfind("p.", 0) == 0) state[k.substr(2)] = v;
  conv.load_state_dict(state);
  Tensor x = leaf(gd.at("x"));
  Tensor y = conv.forward(x);
  check_close(y, gd.at("y"), "y", 1e-5, 1e-5);
  y.backward(gd.at("gy"));
  check_close(x.grad(), gd.at("gx"), "gx", 1e-5, 1e-5);
  check_close(conv.weight.grad(), gd.at("g.weight"), "g.weight", 1e-5, 1e-5);
  if (conv.bias.defined()) check_close(conv.bias.grad(), gd.at("g.bias"), "g.bias", 1e-5, 1e-5);
}

}  // namespace

TEST_CASE("Conv2d padding_mode matches PyTorch") {
  Conv2d reflect(Conv2dOptions(2, 3, 3).padding(Pair{1, 2}).padding_mode(ConvPaddingMode::Reflect));
  check_golden(reflect, "conv2d_reflect");
  Conv2d replicate(
      Conv2dOptions(2, 4, Pair{3, 2}).stride(2).padding(2).padding_mode(ConvPaddingMode::Replicate));
  check_golden(replicate, "conv2d_replicate");
  Conv2d circular(Conv2dOptions(4, 2, 3)
                      .padding(Pair{2, 1})
                      .dilation(Pair{2, 1})
                      .groups(2)
                      .padding_mode(ConvPaddingMode::Circular));
  check_golden(circular, "conv2d_circular");
  Conv2d same(Conv2dOptions(2, 3, Pair{4, 3})
                  .padding(PaddingMode::Same)
                  .dilation(Pair{1, 2})
                  .bias(false)
                  .padding_mode(ConvPaddingMode::Reflect));
  check_golden(same, "conv2d_reflect_same");
  Conv2d unbatched(Conv2dOptions(3, 2, 3).padding(1).padding_mode(ConvPaddingMode::Replicate));
  check_golden(unbatched, "conv2d_replicate_unbatched");
  Conv2d zeros_mode(Conv2dOptions(2, 3, 3).padding(Pair{1, 2}).padding_mode(ConvPaddingMode::Zeros));
  check_golden(zeros_mode, "conv2d_zeros");
}

TEST_CASE("Conv2d padding_mode equals pad followed by an unpadded convolution") {
  Generator gen(21);
  Conv2d conv(Conv2dOptions(2, 2, 3).padding(Pair{2, 1}).padding_mode(ConvPaddingMode::Circular), gen);
  Tensor x = randn({1, 2, 5, 5}, gen);
  Tensor expected = conv2d(pad(x, {1, 1, 2, 2}, PadMode::Circular), conv.weight, conv.bias);
  check_close(conv.forward(x), expected, "circular");
  // The zeros mode differs from reflect at the border, so the mode is not ignored.
  Conv2d zero(Conv2dOptions(2, 2, 3).padding(1), gen);
  Conv2d refl(Conv2dOptions(2, 2, 3).padding(1).padding_mode(ConvPaddingMode::Reflect), gen);
  refl.load_state_dict({{"weight", zero.weight}, {"bias", zero.bias}});
  CHECK(zero.forward(x).to_vector<float>() != refl.forward(x).to_vector<float>());
}

TEST_CASE("Conv2d padding_mode: gradcheck through the padding") {
  Generator gen(4);
  for (ConvPaddingMode mode :
       {ConvPaddingMode::Reflect, ConvPaddingMode::Replicate, ConvPaddingMode::Circular}) {
    INFO(conv_padding_mode_name(mode));
    Conv2d conv(Conv2dOptions(2, 2, 3).stride(2).padding(Pair{2, 1}).padding_mode(mode), gen);
    Tensor x = leaf(randn({1, 2, 4, 5}, gen));
    auto r = gradcheck([&](const std::vector<Tensor>& in) { return conv.forward(in[0]); },
                       {x, conv.weight, conv.bias});
    CHECK_MESSAGE(r.ok, r.report);
  }
}

TEST_CASE("Conv2d padding_mode: printing, state-dict keys and errors") {
  Conv2d conv(Conv2dOptions(3, 8, 3).padding(1).padding_mode(ConvPaddingMode::Reflect));
  CHECK(conv.extra_repr() == "3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), padding_mode=reflect");
  Conv2d plain(Conv2dOptions(3, 8, 3).padding(1));
  CHECK(plain.extra_repr().find("padding_mode") == std::string::npos);
  CHECK(Conv2dOptions(1, 1, 1).padding_mode() == ConvPaddingMode::Zeros);
  auto keys = conv.state_dict();
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].first == "weight");
  CHECK(keys[1].first == "bias");
  // Reflect padding must be smaller than the input, as in PyTorch.
  Conv2d wide(Conv2dOptions(1, 1, 3).padding(3).padding_mode(ConvPaddingMode::Reflect));
  CHECK_THROWS_AS(wide.forward(zeros({1, 1, 3, 3})), Error);
}

TEST_CASE("Conv2d padding_mode: the example of docs/padding-and-pooling.md") {
  // [doc:conv]
  Conv2d conv(Conv2dOptions(3, 16, 3).padding(1).padding_mode(ConvPaddingMode::Reflect));
  Tensor y = conv.forward(randn({1, 3, 8, 8}));  // (1, 16, 8, 8), borders mirrored instead of zero
  // [/doc]
  CHECK(y.shape() == Shape{1, 16, 8, 8});
  CHECK(to_string(conv) ==
        "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), padding_mode=reflect)");
}
