// In-place changes and autograd (docs/reliability.md#in-place-changes): every in-place write the library
// makes counts on the storage's version, a tensor saved for backward remembers the version it had, and
// backward() refuses it once it changed, in PyTorch's words and naming the op. Inputs whose values the
// backward does not read may change freely, and the oneDNN operand caches key on the version.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "core/backend.h"
#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/layout.h"
#include "core/random.h"
#include "layers/conv.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/module.h"
#include "layers/optim.h"
#include "test_util.h"

using namespace convgrad;
using convgrad::testing::floats;
using convgrad::testing::leaf;

namespace {

// The message backward() throws, or "" when it does not throw.
std::string backward_error(const Tensor& loss) {
  try {
    loss.backward();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void check_contains(const std::string& msg, const std::vector<std::string>& needles) {
  CAPTURE(msg);
  for (const auto& n : needles) CHECK_MESSAGE(msg.find(n) != std::string::npos, "missing: " << n);
}

const char* kPytorchWords =
    "one of the variables needed for gradient computation has been modified by an inplace operation";

}  // namespace

TEST_CASE("in-place writes count on the storage version, shared by every view") {
  Tensor t = zeros({2, 3});
  Tensor row = select(t, 0, 1);
  CHECK(t.version() == 0);
  init::constant_(t, 2.0);
  CHECK(t.version() == 1);
  CHECK(row.version() == 1);  // a view shares the count
  CHECK(t.storage()->last_writer() == std::string("constant_"));
  kernels::fill(row, 5.0);
  CHECK(t.version() == 2);
  kernels::add_inplace(t, ones({2, 3}));
  CHECK(t.version() == 3);
  detail::copy_values(t, zeros({2, 3}));
  CHECK(t.version() == 4);
  CHECK(t.detach().version() == 4);  // detach shares the storage
  CHECK(clone_data(t).version() == 0);

  // An optimizer step writes its parameters (and state) in place.
  Tensor p = leaf(floats({1, 2}, {2}));
  p.set_grad(floats({1, 1}, {2}));
  SGD sgd({p}, SGDOptions(0.1));
  sgd.step();
  CHECK(p.version() == 1);
  CHECK(p.storage()->last_writer() == std::string("SGD::step"));
  Adam adam({p}, AdamOptions(0.1));
  adam.step();
  CHECK(p.version() == 2);
  CHECK(p.storage()->last_writer() == std::string("Adam::step"));
}

TEST_CASE("a saved tensor changed in place makes backward throw in PyTorch's words, naming the op") {
  Tensor a = leaf(floats({1, 2, 3}, {3}));
  Tensor w = floats({4, 5, 6}, {3});
  Tensor y = sum(mul(a, w));  // the gradient of a reads w
  init::constant_(w, 1.0);
  check_contains(backward_error(y), {kPytorchWords, "backward of 'mul'", "[float32 [3]]",
                                     "is at version 1; expected version 0 instead", "constant_"});
  CHECK(!a.grad().defined());  // nothing was accumulated

  // The saved output of an op counts too (exp's backward reads exp(x)).
  Tensor x = leaf(floats({0.5f, 1.f}, {2}));
  Tensor e = exp(x);
  Tensor loss = sum(mul(e, floats({1, 1}, {2})));
  kernels::fill(e, 0.0);
  check_contains(backward_error(loss), {kPytorchWords, "backward of 'exp'", "fill"});
}

TEST_CASE("create_graph reads the saved inputs through the same check, and keeps their history") {
  // exp's first-order backward reads only its output, so its input may change in place; create_graph
  // differentiates exp(x) from the saved x, so there the change is refused.
  Tensor x = leaf(floats({0.5f, 1.f}, {2}));
  Tensor w = floats({2, 3}, {2});
  Tensor loss = sum(mul(exp(x), w));
  kernels::fill(x, 0.0);
  CHECK_NOTHROW(grad({loss}, {x}, {}, /*retain_graph=*/true));
  std::string msg;
  try {
    grad({loss}, {x}, {}, std::nullopt, /*create_graph=*/true);
  } catch (const Error& e) {
    msg = e.what();
  }
  check_contains(msg, {kPytorchWords, "backward of 'exp'", "fill"});

  // Unchanged, the saved inputs carry their history: d/dx of (dloss/dx = w exp(x)) is w exp(x) again.
  Tensor x2 = leaf(floats({0.5f, 1.f}, {2}));
  Tensor loss2 = sum(mul(exp(x2), floats({2, 3}, {2})));
  Tensor g = grad({loss2}, {x2}, {}, std::nullopt, true)[0];
  Tensor gg = grad({sum(g)}, {x2})[0];
  CHECK(gg.to_vector()[0] == doctest::Approx(2 * std::exp(0.5)));
  CHECK(gg.to_vector()[1] == doctest::Approx(3 * std::exp(1.0)));
}

TEST_CASE("an optimizer step between forward and backward is refused; the same order in reverse trains") {
  Generator gen(3);
  Linear lin(LinearOptions(4, 2), gen);
  SGD sgd(lin.parameters(), SGDOptions(0.1));
  Tensor x = randn({5, 4}, gen);
  sum(lin.forward(x)).backward();
  Tensor loss = sum(lin.forward(x));
  sgd.step();  // changes the weight that loss's graph saved
  // matmul saved the transposed weight view: version 1 after its init, 2 after the step.
  check_contains(backward_error(loss), {kPytorchWords, "backward of 'matmul'", "[float32 [4, 2]]",
                                        "is at version 2; expected version 1 instead", "SGD::step"});
  // Forward, backward, step: the usual order is unaffected.
  sgd.zero_grad();
  Tensor again = sum(lin.forward(x));
  CHECK_NOTHROW(again.backward());
  CHECK_NOTHROW(sgd.step());
}

TEST_CASE("load_state_dict after the forward makes a conv backward throw on every backend") {
  for (const std::string& name : available_backends()) {
    INFO(name);
    set_backend(name);
    Generator gen(4);
    Conv2d conv(Conv2dOptions(2, 3, 3).padding(1), gen);
    Tensor x = leaf(randn({1, 2, 5, 5}, gen));
    Tensor loss = sum(conv.forward(x));  // x's gradient reads the weight
    auto sd = conv.state_dict();
    std::map<std::string, Tensor> m(sd.begin(), sd.end());
    m["weight"] = randn({3, 2, 3, 3}, gen);
    conv.load_state_dict(m);
    check_contains(backward_error(loss), {kPytorchWords, "backward of 'conv2d'", "[float32 [3, 2, 3, 3]]",
                                          "Module::load_state_dict"});
  }
  set_backend("reference");
}

TEST_CASE("an input whose value the backward does not read may change in place, as in PyTorch") {
  // add reads neither input; mul by a constant reads only the constant; the gradient of a alone.
  Tensor a = leaf(floats({1, 2}, {2}));
  Tensor b = leaf(floats({3, 4}, {2}));
  Tensor c = floats({5, 7}, {2});
  Tensor loss = sum(add(mul(a, c), b));
  init::constant_(a, 100.0);  // a itself is not needed: d(a * c)/da = c
  init::constant_(b, -1.0);
  loss.backward();
  CHECK(a.grad().to_vector() == std::vector<float>{5, 7});
  CHECK(b.grad().to_vector() == std::vector<float>{1, 1});
}

TEST_CASE("gradients accumulate in place without tripping the check; a retained graph can run twice") {
  Tensor a = leaf(floats({1, 2}, {2}));
  Tensor w = floats({3, 4}, {2});
  Tensor loss = sum(mul(a, w));
  loss.backward(Tensor(), /*retain_graph=*/true);
  loss.backward();
  CHECK(a.grad().to_vector() == std::vector<float>{6, 8});
}

#ifdef CONVGRAD_WITH_ONEDNN
TEST_CASE("onednn: an operand cache serves no copy of an operand changed in place since") {
  set_backend("onednn");
  const bool check_was_on = check_backends();
  set_check_backends(false);
  Generator gen(5);
  // Wide enough for oneDNN's blocked (16-channel) layouts: x is reordered into the cache.
  const Shape src{2, 32, 9, 7}, wei{48, 32, 3, 3}, dst{2, 48, 9, 7};
  ConvParams p;
  p.pad_begin = {1, 1};
  p.pad_end = {1, 1};
  Tensor x = uniform(src, -1.f, 1.f, gen), w = uniform(wei, -1.f, 1.f, gen);
  ConvOperandCache xc;
  Tensor y0 = uninitialized(dst);
  conv_forward(x, w, Tensor(), y0, p, {&xc, nullptr, nullptr});
  REQUIRE(xc.size() == 1);
  kernels::copy_into(x, uniform(src, -1.f, 1.f, gen));  // an in-place write the library counts
  Tensor cached = uninitialized(dst), fresh = uninitialized(dst);
  conv_forward(x, w, Tensor(), cached, p, {&xc, nullptr, nullptr});
  conv_forward(x, w, Tensor(), fresh, p);
  CHECK(cached.to_vector() == fresh.to_vector());
  CHECK(cached.to_vector() != y0.to_vector());
  CHECK(xc.size() == 1);  // the stale copy was dropped, not kept beside the new one
  set_check_backends(check_was_on);
  set_backend("reference");
}
#endif
