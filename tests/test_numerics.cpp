// Numerics: anomaly mode (first op producing NaN/Inf, forward and backward), large logits,
// zero-variance batch norm and empty batches.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "autograd/anomaly.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/factory.h"
#include "core/random.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/loss.h"
#include "test_child.h"

using namespace convgrad;
using convgrad::testing::check_one_case_passed;
using convgrad::testing::run_child;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

bool all_finite(const Tensor& t) { return non_finite_stats(t).finite(); }

// The message of the convgrad::Error `fn` throws ("" when it does not throw).
template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Tensor leaf(const Tensor& t) {
  Tensor l = clone_data(t);
  l.set_requires_grad();
  return l;
}

}  // namespace

TEST_CASE("non_finite_stats counts NaN, +Inf and -Inf and finds the first, on strided views too") {
  Tensor t = tensor({{1.f, NAN}, {kInf, -kInf}});
  NonFiniteStats s = non_finite_stats(t);
  CHECK(s.nan == 1);
  CHECK(s.pos_inf == 1);
  CHECK(s.neg_inf == 1);
  CHECK(s.first == 1);
  CHECK(non_finite_stats(transpose(t, 0, 1)).first == 1);  // row-major in the view: [1, inf, nan, -inf]
  CHECK(std::isinf(non_finite_stats(transpose(t, 0, 1)).first_value));
  CHECK(non_finite_stats(from_vector(std::vector<int64_t>{1, 2}, {2})).finite());
}

TEST_CASE("anomaly mode: forward names the first op producing NaN, with its shapes") {
  DetectAnomalyGuard on;
  Tensor a = tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
  Tensor b = a - 2.f;  // finite: [-1, 0, 1; 2, 3, 4]
  std::string msg = error_of([&] { (void)(sqrt(b) * 2.f); });
  CHECK_MESSAGE(msg.find("forward: op 'sqrt'") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("output of shape [2, 3]") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("1 NaN, 0 +Inf, 0 -Inf among 6 values") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("index [0, 0]") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("input 0: shape [2, 3] float32, all finite") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("this op created them") != std::string::npos, msg);

  // log(0) = -inf is found the same way, and under NoGradGuard (inference) too.
  NoGradGuard no_grad;
  msg = error_of([&] { (void)log(tensor({1.f, 0.f})); });
  CHECK_MESSAGE(msg.find("op 'log'") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("1 -Inf") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("index [1]") != std::string::npos, msg);
}

TEST_CASE("anomaly mode: the usage docs/reliability.md shows") {
  std::string report;
  // [doc:anomaly_usage]
  convgrad::set_detect_anomaly(true);  // or CONVGRAD_DETECT_ANOMALY=1 in the environment
  try {
    Tensor y = convgrad::log(convgrad::zeros({2, 3}));  // log(0) = -inf
  } catch (const convgrad::Error& e) {
    report = e.what();  // "anomaly detected in forward: op 'log' produced non-finite values ..."
  }
  convgrad::set_detect_anomaly(false);
  {
    convgrad::DetectAnomalyGuard on;  // on for one region only
    CHECK(convgrad::detect_anomaly());
  }
  // [/doc]
  CHECK(report.rfind("anomaly detected in forward: op 'log' produced non-finite values", 0) == 0);
  CHECK_FALSE(detect_anomaly());
}

TEST_CASE("anomaly mode: an input that is already non-finite is reported as the cause") {
  DetectAnomalyGuard on;
  Tensor x = tensor({1.f, NAN, 3.f});
  std::string msg = error_of([&] { (void)add(x, ones({3})); });
  CHECK_MESSAGE(msg.find("op 'add'") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("input 0: shape [3] float32, ALREADY NON-FINITE") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("input 1: shape [3] float32, all finite") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("starts before this op") != std::string::npos, msg);
}

TEST_CASE("anomaly mode: backward names the op whose gradient became non-finite") {
  DetectAnomalyGuard on;
  Tensor x = leaf(tensor({0.f, 4.f}));
  Tensor y = sum(sqrt(x) * 3.f);  // forward finite; d sqrt(x)/dx = 1/(2 sqrt x) is +inf at 0
  std::string msg = error_of([&] { y.backward(); });
  CHECK_MESSAGE(msg.find("backward: the backward of op 'sqrt' (output shape [2])") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("gradient for input 0 of shape [2]") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("1 +Inf") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("incoming gradient: shape [2], all finite") != std::string::npos, msg);
  // Nothing reached the leaf, and the same graph without anomaly mode gives the Inf silently.
  CHECK_FALSE(x.grad().defined());
  set_detect_anomaly(false);
  Tensor y2 = sum(sqrt(x) * 3.f);
  y2.backward();
  CHECK(std::isinf(x.grad().to_vector()[0]));
  CHECK(x.grad().to_vector()[1] == doctest::Approx(0.75f));
}

TEST_CASE("anomaly mode: off by default, no false positives on a finite training step") {
  if (std::getenv("CONVGRAD_DETECT_ANOMALY") == nullptr) CHECK_FALSE(detect_anomaly());
  Generator gen(3);
  Conv2d conv(Conv2dOptions(2, 4, 3).padding(1), gen);
  BatchNorm2d bn(BatchNorm2dOptions(4));
  Tensor x = randn({2, 2, 6, 6}, gen), target = randint(0, 4, {2, 6, 6}, gen);
  auto step = [&] {
    Tensor logits = bn.forward(relu(max_pool2d(conv.forward(x), {1, 1})));
    Tensor loss = cross_entropy(logits, target);
    conv.zero_grad();
    loss.backward();
    return std::pair{loss.item(), conv.weight.grad().to_vector()};
  };
  auto plain = step();
  DetectAnomalyGuard on;
  auto checked = step();
  CHECK(plain.first == checked.first);
  CHECK(plain.second == checked.second);  // anomaly mode only observes
}

TEST_CASE("anomaly mode: CONVGRAD_DETECT_ANOMALY=1 in the environment turns it on") {
  const char* probe = std::getenv("CONVGRAD_TEST_ANOMALY_PROBE");
  if (probe != nullptr) {  // the child: started below with the variable set
    CHECK(detect_anomaly());
    CHECK(error_of([] { (void)log(zeros({2})); }).find("op 'log'") != std::string::npos);
    return;
  }
  // The child's summary must show exactly one case run and passed: a filter that matched no case would
  // also exit 0.
  check_one_case_passed(
      run_child("*CONVGRAD_DETECT_ANOMALY=1*",
                {"CONVGRAD_DETECT_ANOMALY=1", "CONVGRAD_TEST_ANOMALY_PROBE=1", "OMP_NUM_THREADS=1"}));
}

TEST_CASE("large logits: losses, softmax and sigmoid stay finite and exact at +-1e4 and +-1e30") {
  for (float big : {1e4f, 1e30f}) {
    CAPTURE(big);
    Tensor logits = leaf(tensor({{big, -big, 0.f}, {0.f, big, big}}));
    Tensor target = from_vector(std::vector<int64_t>{0, 0}, {2});
    Tensor loss = cross_entropy(logits, target, CrossEntropyOptions().reduction(Reduction::None));
    // Row 0: the right class dominates, loss 0. Row 1: loss = log(2 e^big) - 0 = big + log 2 (rounds to big).
    CHECK(loss.to_vector()[0] == 0.f);
    CHECK(loss.to_vector()[1] == doctest::Approx(big + std::log(2.f)));
    sum(loss).backward();
    CHECK(all_finite(logits.grad()));
    std::vector<float> want{0.f, 0.f, 0.f, -1.f, 0.5f, 0.5f}, got = logits.grad().to_vector();
    for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-3));

    Tensor row = tensor({big, -big, big});
    CHECK(softmax(row, 0).to_vector() == std::vector<float>{0.5f, 0.f, 0.5f});
    CHECK(log_softmax(row, 0).to_vector()[0] == doctest::Approx(-std::log(2.f)));
    // The middle element is -2 big - log 2: still a float, and exactly -2 big after rounding at 1e30.
    const float low = log_softmax(row, 0).to_vector()[1];
    CHECK(low == doctest::Approx(-2.0 * big - std::log(2.0)).epsilon(1e-6));
    if (big == 1e30f) CHECK(low == -2e30f);
    CHECK(logsumexp(row, 0).item() == doctest::Approx(big + std::log(2.f)));
    CHECK(sigmoid(row).to_vector() == std::vector<float>{1.f, 0.f, 1.f});
    CHECK(tanh(row).to_vector() == std::vector<float>{1.f, -1.f, 1.f});
    Tensor bce = binary_cross_entropy_with_logits(tensor({big, -big}), tensor({0.f, 1.f}), Reduction::None);
    CHECK(bce.to_vector() == std::vector<float>{big, big});  // log(1 + e^big) = big in float32
  }
}

TEST_CASE("zero-variance batch norm: output is the bias, gradients and running stats are finite") {
  BatchNorm2d bn(BatchNorm2dOptions(2));
  bn.bias.data<float>()[0] = 0.5f;
  bn.bias.data<float>()[1] = -1.f;
  Tensor x = leaf(full({3, 2, 2, 2}, 7.0));  // every value of a channel equal: batch variance 0
  Tensor y = bn.forward(x);
  for (int64_t n = 0; n < 3; ++n) {
    CHECK(y.at({n, 0, 1, 1}) == 0.5f);
    CHECK(y.at({n, 1, 0, 1}) == -1.f);
  }
  // d/dx sum(y * w) = invstd * (w - mean_c(w)) when x_hat = 0, invstd = 1/sqrt(eps).
  sum(y * reshape(arange(24), {3, 2, 2, 2})).backward();
  CHECK(all_finite(x.grad()));
  CHECK(x.grad().at({0, 0, 0, 0}) == doctest::Approx((0.0 - 9.5) / std::sqrt(1e-5)).epsilon(1e-4));
  CHECK(all_finite(bn.weight.grad()));
  CHECK(bn.running_mean.to_vector() == std::vector<float>{0.7f, 0.7f});
  CHECK(bn.running_var.to_vector() == std::vector<float>{0.9f, 0.9f});  // 0.9 * 1 + 0.1 * 0

  // Eval with a zero running variance divides by sqrt(eps), not by zero.
  bn.running_var.data<float>()[0] = 0.f;
  bn.eval();
  Tensor ye = bn.forward(x);
  CHECK(all_finite(ye));
  // (x - running_mean) / sqrt(0 + eps) * weight + bias, eps = 1e-5: channel 0 has variance 0, channel 1 0.9.
  CHECK(ye.at({1, 0, 1, 0}) == doctest::Approx((7.0 - 0.7) / std::sqrt(1e-5) + 0.5).epsilon(1e-5));
  CHECK(ye.at({1, 1, 1, 0}) == doctest::Approx((7.0 - 0.7) / std::sqrt(0.9 + 1e-5) - 1.0).epsilon(1e-5));
  // BatchNorm2d refuses eps <= 0 (the functional batch_norm allows 0, below), naming the value.
  for (float eps : {0.f, -1e-5f}) {
    const std::string want = fmt::format("eps must be positive, got {}", eps);
    CHECK_THROWS_WITH_AS(BatchNorm2d(BatchNorm2dOptions(2).eps(eps)), doctest::Contains(want.c_str()), Error);
  }
  // eps = 0 is allowed but a constant channel then gives 0 * inf = NaN: anomaly mode names batch_norm.
  DetectAnomalyGuard on;
  std::string msg = error_of([&] {
    (void)batch_norm(full({2, 1, 2, 2}, 3.0), Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1f, 0.f);
  });
  CHECK_MESSAGE(msg.find("op 'batch_norm'") != std::string::npos, msg);
}

TEST_CASE("empty batches: layers give empty outputs, losses 0, gradients zero") {
  Generator gen(5);
  Conv2d conv(Conv2dOptions(2, 3, 3).padding(1), gen);
  ConvTranspose2d up(ConvTranspose2dOptions(3, 2, 4).stride(2).padding(1), gen);
  BatchNorm2d bn(BatchNorm2dOptions(3));
  Linear fc(LinearOptions(4, 5), gen);
  Tensor x = leaf(zeros({0, 2, 5, 5}));
  Tensor h = bn.forward(conv.forward(x));
  CHECK(h.shape() == Shape{0, 3, 5, 5});
  CHECK(max_pool2d(h, {2, 2}).shape() == Shape{0, 3, 2, 2});
  Tensor y = up.forward(h);
  CHECK(y.shape() == Shape{0, 2, 10, 10});
  Tensor fc_in = leaf(zeros({0, 4}));
  Tensor fc_out = fc.forward(fc_in);
  CHECK(fc_out.shape() == Shape{0, 5});
  sum(fc_out).backward();  // Linear's empty batch: zero weight and bias gradients, an empty input gradient
  CHECK(fc.weight.grad().to_vector() == std::vector<float>(20, 0.f));
  CHECK(fc.bias.grad().to_vector() == std::vector<float>(5, 0.f));
  CHECK(fc_in.grad().shape() == Shape{0, 4});
  sum(y).backward();
  CHECK(x.grad().shape() == Shape{0, 2, 5, 5});
  CHECK(conv.weight.grad().to_vector() == std::vector<float>(54, 0.f));
  CHECK(conv.bias.grad().to_vector() == std::vector<float>(3, 0.f));
  CHECK(up.weight.grad().to_vector() == std::vector<float>(96, 0.f));
  // An empty batch carries no statistics: running stats and the batch counter stay as they were.
  CHECK(bn.running_mean.to_vector() == std::vector<float>(3, 0.f));
  CHECK(bn.running_var.to_vector() == std::vector<float>(3, 1.f));
  CHECK(bn.num_batches_tracked.item<int64_t>() == 0);

  // Losses over no samples: Sum is 0, Mean is 0 (PyTorch gives NaN here), None is empty.
  Tensor logits = leaf(zeros({0, 4}));
  Tensor no_labels = from_vector(std::vector<int64_t>{}, {0});
  for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
    CAPTURE(reduction_name(r));
    CHECK(cross_entropy(logits, no_labels, CrossEntropyOptions().reduction(r)).item() == 0.f);
    CHECK(mse_loss(zeros({0, 3}), zeros({0, 3}), r).item() == 0.f);
    CHECK(binary_cross_entropy_with_logits(zeros({0}), zeros({0}), r).item() == 0.f);
  }
  CHECK(cross_entropy(logits, no_labels, CrossEntropyOptions().reduction(Reduction::None)).shape() ==
        Shape{0});
  cross_entropy(logits, no_labels).backward();
  CHECK(logits.grad().shape() == Shape{0, 4});

  // Every target ignored is not an empty batch: the mean stays 0/0 = NaN as in PyTorch, the gradient 0.
  Tensor l2 = leaf(tensor({{1.f, 2.f}, {3.f, 4.f}}));
  Tensor ignored = from_vector(std::vector<int64_t>{-100, -100}, {2});
  Tensor loss = cross_entropy(l2, ignored);
  CHECK(std::isnan(loss.item()));
  loss.backward();
  CHECK(l2.grad().to_vector() == std::vector<float>{0.f, 0.f, 0.f, 0.f});

  // The generic mean() of nothing stays NaN, as in PyTorch and NumPy (documented).
  CHECK(std::isnan(mean(zeros({0})).item()));
  CHECK(sum(zeros({0})).item() == 0.f);
}
