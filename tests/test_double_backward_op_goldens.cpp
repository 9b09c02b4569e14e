// PyTorch goldens of second-order gradients op by op (tools/gen_op_double_backward_goldens.py ->
// tests/data/double_backward/ops/*.npz): for each case f(in0, in1, ...), the first-order gradients of
// <gy, f> taken with create_graph, and the gradients of sum_i <g_i, v_i> with respect to every input and gy.
// The convolutions have their own file (test_double_backward_goldens.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/factory.h"
#include "core/npy.h"
#include "layers/loss.h"
#include "test_util.h"

using namespace convgrad;

namespace {

using In = std::vector<Tensor>;
struct Case {
  const char* name;
  std::function<Tensor(const In&, const Tensor& target)> f;
};

// Each f is written as the generator writes it in PyTorch.
const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"exp", [](const In& t, const Tensor&) { return exp(t[0]); }},
      {"log", [](const In& t, const Tensor&) { return log(t[0]); }},
      {"sqrt", [](const In& t, const Tensor&) { return sqrt(t[0]); }},
      {"pow3", [](const In& t, const Tensor&) { return pow(t[0], 3.f); }},
      {"abs_times_x", [](const In& t, const Tensor&) { return abs(t[0]) * t[0]; }},
      {"sigmoid", [](const In& t, const Tensor&) { return sigmoid(t[0]); }},
      {"tanh", [](const In& t, const Tensor&) { return tanh(t[0]); }},
      {"relu_times_x", [](const In& t, const Tensor&) { return relu(t[0]) * t[0]; }},
      {"leaky_relu_times_x", [](const In& t, const Tensor&) { return leaky_relu(t[0], 0.2f) * t[0]; }},
      {"clamp_times_x", [](const In& t, const Tensor&) { return clamp(t[0], -0.5f, 0.5f) * t[0]; }},
      {"prelu_times_x", [](const In& t, const Tensor&) { return prelu(t[0], t[1]) * t[0]; }},
      {"mul", [](const In& t, const Tensor&) { return t[0] * t[1] * t[0]; }},
      {"div", [](const In& t, const Tensor&) { return t[0] / t[1]; }},
      {"maximum_minimum",
       [](const In& t, const Tensor&) { return maximum(t[0], t[1]) * minimum(t[0], t[1]); }},
      {"softmax", [](const In& t, const Tensor&) { return softmax(t[0], 1); }},
      {"log_softmax", [](const In& t, const Tensor&) { return log_softmax(t[0], 0); }},
      {"logsumexp", [](const In& t, const Tensor&) { return logsumexp(t[0], 1); }},
      {"sum_mean",
       [](const In& t, const Tensor&) { return sum(t[0] * t[0], {1}, true) * mean(t[0] * t[0], {0}, true); }},
      {"max_dim_times_x", [](const In& t, const Tensor&) { return max(t[0], 1, true) * t[0]; }},
      {"matmul", [](const In& t, const Tensor&) { return matmul(t[0], t[1]) * matmul(t[0], t[1]); }},
      {"batch_norm_train",
       [](const In& t, const Tensor&) { return batch_norm(t[0], Tensor(), Tensor(), t[1], t[2], true); }},
      {"max_pool2d_of_square",
       [](const In& t, const Tensor&) {
         return max_pool2d(t[0] * t[0], {2, 2});
       }},
      {"avg_pool2d_of_square",
       [](const In& t, const Tensor&) {
         return avg_pool2d(t[0] * t[0], {2, 2}, {1, 1});
       }},
      {"bilinear_of_square",
       [](const In& t, const Tensor&) {
         return interpolate(t[0] * t[0],
                            InterpolateOptions().scale_factor(2).mode(InterpolateMode::Bilinear));
       }},
      {"bicubic_of_square",
       [](const In& t, const Tensor&) {
         return interpolate(
             t[0] * t[0],
             InterpolateOptions().size(Pair{5, 4}).mode(InterpolateMode::Bicubic).align_corners(true));
       }},
      {"reflect_pad_of_square",
       [](const In& t, const Tensor&) {
         return pad(t[0] * t[0], {1, 2, 2, 1}, PadMode::Reflect);
       }},
      {"pixel_shuffle_of_square", [](const In& t, const Tensor&) { return pixel_shuffle(t[0] * t[0], 2); }},
      {"cross_entropy", [](const In& t, const Tensor& target) { return cross_entropy(t[0], target); }},
      {"cross_entropy_none",
       [](const In& t, const Tensor& target) {
         return cross_entropy(t[0], target, CrossEntropyOptions().reduction(Reduction::None));
       }},
      {"mse_loss", [](const In& t, const Tensor&) { return mse_loss(t[0], t[1]); }},
      {"l1_loss_of_square", [](const In& t, const Tensor&) { return l1_loss(t[0] * t[0], t[1]); }},
      {"smooth_l1_loss_of_square",
       [](const In& t, const Tensor&) { return smooth_l1_loss(t[0] * t[0], t[1], Reduction::Sum, 0.5); }},
      {"bce_with_logits",
       [](const In& t, const Tensor&) { return binary_cross_entropy_with_logits(t[0], t[1]); }},
      {"bce_with_logits_pos_weight_none",
       [](const In& t, const Tensor&) {
         return binary_cross_entropy_with_logits(t[0], t[1], Reduction::None,
                                                 from_vector(std::vector<float>{0.5f, 2.f, 1.5f}, Shape{3}));
       }},
  };
  return all;
}

// Within 1e-4 of the golden relative to its largest magnitude (a per-element relative error means nothing
// where sums cancel); a golden that is all zeros (the second derivative of an op linear in that input)
// must come out as zeros to 1e-6.
void check_rel(const Tensor& got, const Tensor& want, const std::string& what) {
  INFO(what);
  REQUIRE(got.defined());
  REQUIRE(got.shape() == want.shape());
  const auto [err, scale] = convgrad::testing::golden_error(got, want);
  INFO("max error " << err << ", golden scale " << scale);
  CHECK(err <= std::max(1e-4 * scale, 1e-6));  // NaN fails
}

void check_case(const Case& c) {
  std::map<std::string, Tensor> g =
      load_npz(std::string(CONVGRAD_TEST_DATA) + "/double_backward/ops/" + c.name + ".npz");
  In inputs;
  for (size_t i = 0; g.count("in" + std::to_string(i)); ++i) {
    inputs.push_back(g.at("in" + std::to_string(i)));
    inputs.back().set_requires_grad();
  }
  REQUIRE(!inputs.empty());
  const Tensor target = g.count("target") ? g.at("target") : Tensor();
  Tensor gy = g.at("gy");
  gy.set_requires_grad();
  std::vector<Tensor> first = grad({c.f(inputs, target)}, inputs, {gy}, std::nullopt, /*create_graph=*/true);
  Tensor s;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string k = std::to_string(i);
    check_rel(first[i], g.at("g" + k), std::string(c.name) + ": g" + k);
    Tensor term = sum(first[i] * g.at("v" + k));
    s = s.defined() ? s + term : term;
  }
  In wrt = inputs;
  wrt.push_back(gy);
  // allow_unused: an op linear in an input leaves that input out of the second-order graph.
  std::vector<Tensor> second = grad({s}, wrt, {}, std::nullopt, false, /*allow_unused=*/true);
  for (size_t i = 0; i < wrt.size(); ++i) {
    const std::string k = i < inputs.size() ? "h" + std::to_string(i) : "hgy";
    Tensor got = second[i].defined() ? second[i] : zeros_like(wrt[i]);
    check_rel(got, g.at(k),
              std::string(c.name) + ": d/d" + (i < inputs.size() ? "in" + std::to_string(i) : "gy"));
  }
}

}  // namespace

TEST_CASE("second-order gradients of every op family match PyTorch 1.13") {
  CHECK(cases().size() == 34);
  for (const Case& c : cases()) {
    const std::string name = c.name;
    CAPTURE(name);
    check_case(c);
  }
}
