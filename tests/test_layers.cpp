// Every layer's forward and gradients against PyTorch goldens (tools/gen_layer_goldens.py), plus
// BatchNorm train vs eval, Dropout, bilinear ConvTranspose2d vs Upsample and whole-model gradchecks.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>

#include "layers/convgrad.h"
#include "layers/loss.h"

using namespace convgrad;

namespace {

const std::string kData = std::string(CONVGRAD_TEST_DATA) + "/layers/";

// Largest |a - b| - rtol * |b|, with shapes required equal.
void check_close(const Tensor& actual, const Tensor& expected, const std::string& what, double tol = 2e-5) {
  REQUIRE_MESSAGE(actual.defined(), what << " is undefined");
  REQUIRE_MESSAGE(actual.shape() == expected.shape(), what << ": shape " << shape_str(actual.shape())
                                                           << " vs expected " << shape_str(expected.shape()));
  auto a = actual.to_vector<double>(), e = expected.to_vector<double>();
  double worst = 0.0;
  size_t at = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double err = std::abs(a[i] - e[i]) / (1.0 + std::abs(e[i]));
    if (!(err <= worst)) worst = std::isnan(err) ? INFINITY : err, at = i;  // NaN counts as the worst
    if (std::isinf(worst)) break;
  }
  CHECK_MESSAGE(worst <= tol, what << ": worst relative error " << worst << " at element " << at << " (got "
                                   << a[at] << ", expected " << e[at] << ")");
}

using Call = std::function<Tensor(Module&, const Tensor&)>;

// Loads golden `name`, sets the module's state from its p.* entries, runs forward + backward with the
// golden upstream gradient, and compares output, input gradient, parameter gradients and buffers.
void check_golden(Module& m, const std::string& name, bool training = true, Call call = {},
                  double tol = 2e-5) {
  INFO("golden case " << name);
  auto g = load_npz(kData + name + ".npz");
  std::map<std::string, Tensor> state;
  for (auto& [k, t] : g)
    if (k.rfind("p.", 0) == 0) state[k.substr(2)] = t;
  m.load_state_dict(state);
  m.train(training);
  m.zero_grad();
  Tensor x = g.at("x");
  x.set_requires_grad();
  Tensor y = call ? call(m, x) : m.forward(x);
  check_close(y, g.at("y"), "output", tol);
  y.backward(g.at("gy"));
  check_close(x.grad(), g.at("gx"), "input gradient", tol);
  for (auto& [n, p] : m.named_parameters()) check_close(p.grad(), g.at("g." + n), "gradient of " + n, tol);
  for (auto& [n, b] : m.named_buffers()) {
    if (b.dtype() == DType::Int64)
      CHECK_MESSAGE(b.to_vector<int64_t>() == g.at("s." + n).to_vector<int64_t>(), n);
    else
      check_close(b, g.at("s." + n), "buffer " + n + " after forward", tol);
  }
}

}  // namespace

TEST_CASE("Conv2d matches PyTorch (basic, strided/dilated/grouped, padding same)") {
  Conv2d basic(Conv2dOptions(3, 4, 3).padding(1));
  check_golden(basic, "conv2d_basic");
  Conv2d options(Conv2dOptions(4, 6, {3, 2}).stride({2, 1}).padding({1, 0}).dilation({1, 2}).groups(2));
  check_golden(options, "conv2d_options");
  Conv2d same(Conv2dOptions(2, 3, 4).padding(PaddingMode::Same).bias(false));
  check_golden(same, "conv2d_same");
}

TEST_CASE("ConvTranspose2d matches PyTorch, including output_size by options and by forward overload") {
  ConvTranspose2d basic(ConvTranspose2dOptions(3, 2, 4).stride(2).padding(1));
  check_golden(basic, "convt_basic");
  ConvTranspose2d options(ConvTranspose2dOptions(4, 6, {3, 4})
                              .stride({2, 3})
                              .padding({1, 2})
                              .output_padding({1, 0})
                              .groups(2)
                              .dilation({2, 1}));
  check_golden(options, "convt_options");
  ConvTranspose2d by_call(ConvTranspose2dOptions(2, 3, 3).stride(2).padding(1));
  check_golden(by_call, "convt_output_size", true, [](Module& m, const Tensor& x) {
    return static_cast<ConvTranspose2d&>(m).forward(x, {8, 8});
  });
  // The same through options, so it also works inside a Sequential (which only calls forward(x)).
  auto fixed = std::make_shared<ConvTranspose2d>(
      ConvTranspose2dOptions(2, 3, 3).stride(2).padding(1).output_size({8, 8}));
  check_golden(*fixed, "convt_output_size");
  Sequential seq({fixed});
  Tensor x = ones({1, 2, 4, 4});
  CHECK(seq.forward(x).to_vector() == by_call.forward(x, {8, 8}).to_vector());
  CHECK(by_call.forward(ones({1, 2, 4, 4})).shape() == Shape{1, 3, 7, 7});
  CHECK_THROWS_AS(by_call.forward(ones({1, 2, 4, 4}), {10, 10}), Error);  // unreachable size
}

TEST_CASE("Linear matches PyTorch on 2-D and 3-D inputs") {
  Linear fc(LinearOptions(5, 3));
  check_golden(fc, "linear");
  Linear nobias(LinearOptions(5, 3).bias(false));
  check_golden(nobias, "linear_3d");
}

TEST_CASE("activations match PyTorch") {
  ReLU relu_layer;
  check_golden(relu_layer, "relu");
  LeakyReLU leaky(LeakyReLUOptions().negative_slope(0.2f));
  check_golden(leaky, "leaky_relu");
  Sigmoid sig;
  check_golden(sig, "sigmoid");
  Tanh th;
  check_golden(th, "tanh");
}

TEST_CASE("pooling, Flatten and Upsample match PyTorch") {
  MaxPool2d maxpool(MaxPool2dOptions(3).stride(2).padding(1));
  check_golden(maxpool, "maxpool");
  AvgPool2d avg(AvgPool2dOptions(2));
  check_golden(avg, "avgpool");
  AvgPool2d avg_pad(AvgPool2dOptions(3).stride(2).padding(1));
  check_golden(avg_pad, "avgpool_pad");
  Flatten flat;
  check_golden(flat, "flatten");
  Upsample up2(UpsampleOptions().scale_factor(2));
  check_golden(up2, "upsample_x2");
  Upsample up_size(UpsampleOptions().size({7, 9}));
  check_golden(up_size, "upsample_size");
}

TEST_CASE("BatchNorm2d: batch statistics and running updates in training, running statistics in eval") {
  BatchNorm2d bn(BatchNorm2dOptions(3));
  check_golden(bn, "batchnorm_train", true);
  check_golden(bn, "batchnorm_eval", false);
  CHECK(bn.num_batches_tracked.item<int64_t>() == 1);  // eval leaves the statistics alone
  BatchNorm2d cumulative(BatchNorm2dOptions(2).momentum(std::nullopt).affine(false));
  check_golden(cumulative, "batchnorm_cumulative", true);
  CHECK(cumulative.num_batches_tracked.item<int64_t>() == 3);

  // In eval a sample's output does not depend on the rest of the batch; in training it does.
  BatchNorm2d b(BatchNorm2dOptions(2));
  Generator gen(1);
  for (int i = 0; i < 3; ++i) b.forward(randn({4, 2, 3, 3}, gen) * 2.f + 1.f);
  Tensor batch = randn({4, 2, 3, 3}, gen);
  Tensor first = slice(batch, 0, 0, 1);
  b.eval();
  check_close(slice(b.forward(batch), 0, 0, 1), b.forward(first), "eval output of sample 0");
  b.train();
  Tensor in_batch = slice(b.forward(batch), 0, 0, 1).detach();
  Tensor other_batch = slice(b.forward(concat({first, first * 3.f}, 0)), 0, 0, 1).detach();
  CHECK_FALSE(allclose(in_batch, other_batch, 1e-3, 1e-3));
}

TEST_CASE("Dropout: drops a fraction p, rescales by 1/(1-p), identity in eval, seeded masks repeat") {
  Dropout drop(DropoutOptions().p(0.3f));
  auto gen = std::make_shared<Generator>(11);
  drop.set_generator(gen);
  Tensor x = ones({100000});
  x.set_requires_grad();
  Tensor y = drop.forward(x);
  auto v = y.to_vector();
  int64_t zeros_seen = 0;
  for (float e : v) {
    if (e == 0.f)
      ++zeros_seen;
    else
      CHECK_MESSAGE(e == doctest::Approx(1.0 / 0.7), e);
  }
  CHECK(zeros_seen / 1e5 == doctest::Approx(0.3).epsilon(0.03));
  sum(y).backward();
  CHECK(x.grad().to_vector() == v);  // gradient is the same mask and scale
  gen->seed(11);
  CHECK(drop.forward(x).to_vector() == v);
  drop.eval();
  CHECK(drop.forward(x).to_vector() == x.to_vector());
}

TEST_CASE("a ConvTranspose2d with bilinear_kernel equals bilinear Upsample away from the border") {
  ConvTranspose2d up_conv(ConvTranspose2dOptions(3, 3, 4).stride(2).padding(1).bias(false));
  up_conv.load_state_dict({{"weight", bilinear_kernel(3, 3, 4)}});
  Upsample up(UpsampleOptions().scale_factor(2));
  Generator gen(5);
  Tensor x = randn({2, 3, 6, 7}, gen);
  Tensor a = up_conv.forward(x), b = up.forward(x);
  REQUIRE(a.shape() == Shape{2, 3, 12, 14});
  REQUIRE(b.shape() == a.shape());
  auto interior = [](const Tensor& t) { return slice(slice(t, 2, 1, 11), 3, 1, 13); };
  check_close(interior(a), interior(b), "interior of the bilinear transposed conv", 1e-6);
  // On the border the transposed conv sees zero padding where bilinear clamps: they differ.
  CHECK(a.at({0, 0, 0, 0}) == doctest::Approx(0.75 * 0.75 * x.at({0, 0, 0, 0})));
}

namespace {
// PyTorch's SmallNet of the goldens, with the same layers so the state-dict names match.
struct SmallNet : Module {
  std::shared_ptr<Sequential> features, head;
  std::shared_ptr<ConvTranspose2d> up;
  SmallNet() {
    features = register_module(
        "features", std::make_shared<Sequential>(std::make_shared<Conv2d>(Conv2dOptions(2, 4, 3).padding(1)),
                                                 std::make_shared<BatchNorm2d>(BatchNorm2dOptions(4)),
                                                 std::make_shared<ReLU>(),
                                                 std::make_shared<MaxPool2d>(MaxPool2dOptions(2))));
    up = register_module(
        "up", std::make_shared<ConvTranspose2d>(ConvTranspose2dOptions(4, 3, 4).stride(2).padding(1)));
    head = register_module(
        "head", std::make_shared<Sequential>(std::make_shared<Flatten>(),
                                             std::make_shared<Linear>(LinearOptions(3 * 8 * 8, 5))));
  }
  Tensor forward(const Tensor& x) override { return head->forward(tanh(up->forward(features->forward(x)))); }
};

Sequential small_fcn() {
  return Sequential({std::make_shared<Conv2d>(Conv2dOptions(1, 4, 3).padding(1)), std::make_shared<ReLU>(),
                     std::make_shared<Conv2d>(Conv2dOptions(4, 8, 3).stride(2).padding(1)),
                     std::make_shared<BatchNorm2d>(BatchNorm2dOptions(8)), std::make_shared<ReLU>(),
                     std::make_shared<ConvTranspose2d>(ConvTranspose2dOptions(8, 4, 4).stride(2).padding(1)),
                     std::make_shared<ReLU>(), std::make_shared<Conv2d>(Conv2dOptions(4, 2, 1))});
}
}  // namespace

TEST_CASE("a whole model's output and every parameter gradient match PyTorch") {
  SmallNet net;
  check_golden(net, "model_small", true, {}, 5e-5);
}

TEST_CASE(
    "a PyTorch-trained Conv/ConvTranspose model converted by tools/state_dict.py gives the same outputs") {
  Sequential fcn = small_fcn();
  load(fcn, kData + "pretrained_fcn.npz");
  fcn.eval();
  auto io = load_npz(kData + "pretrained_fcn_io.npz");
  Tensor y = fcn.forward(io.at("x"));
  check_close(y, io.at("y"), "pretrained FCN output", 5e-5);
  // And it still segments: the trained model labels nearly every pixel right.
  Tensor hits = eq(argmax(y, 1), io.at("target"));
  CHECK(mean(hits).item() > 0.95f);
}

TEST_CASE("gradcheck through whole small models") {
  Generator gen(2);
  Sequential a({std::make_shared<Conv2d>(Conv2dOptions(1, 2, 3).padding(1), gen),
                std::make_shared<BatchNorm2d>(BatchNorm2dOptions(2)), std::make_shared<Tanh>(),
                std::make_shared<AvgPool2d>(AvgPool2dOptions(2)),
                std::make_shared<ConvTranspose2d>(ConvTranspose2dOptions(2, 1, 4).stride(2).padding(1), gen),
                std::make_shared<Sigmoid>()});
  Sequential b({std::make_shared<Conv2d>(Conv2dOptions(2, 3, 2).stride(2), gen),
                std::make_shared<LeakyReLU>(LeakyReLUOptions().negative_slope(0.1f)),
                std::make_shared<Upsample>(UpsampleOptions().size({5, 5})),
                std::make_shared<MaxPool2d>(MaxPool2dOptions(2).stride(1)), std::make_shared<Flatten>(),
                std::make_shared<Linear>(LinearOptions(3 * 4 * 4, 2), gen)});
  for (Sequential* model : {&a, &b}) {
    Tensor x = randn({2, model == &a ? 1 : 2, 4, 4}, gen);
    x.set_requires_grad();
    std::vector<Tensor> inputs = {x};
    for (auto& p : model->parameters()) inputs.push_back(p);
    auto r = gradcheck([&](const std::vector<Tensor>& in) { return model->forward(in[0]); }, inputs);
    CHECK_MESSAGE(r.ok, r.report);
  }
}

TEST_CASE("a small conv model's loss falls on a toy problem") {
  // Classify 6x6 images by whether the bright blob is in the left or right half.
  Generator gen(4);
  auto batch = [&](int64_t n) {
    Tensor x = randn({n, 1, 6, 6}, gen) * 0.3f;
    std::vector<int64_t> labels;
    for (int64_t i = 0; i < n; ++i) {
      int64_t label = gen.randint(0, 2), r = gen.randint(0, 5), c = gen.randint(0, 2) + 3 * label;
      for (int64_t dr = 0; dr < 2; ++dr) x.data<float>()[i * 36 + (r + dr) * 6 + c] += 1.f;
      labels.push_back(label);
    }
    return std::pair{x, from_vector(labels, {n})};
  };
  Sequential model({std::make_shared<Conv2d>(Conv2dOptions(1, 4, 3).padding(1), gen),
                    std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(MaxPool2dOptions(2)),
                    std::make_shared<Flatten>(), std::make_shared<Linear>(LinearOptions(4 * 3 * 3, 2), gen)});
  auto [x_eval, t_eval] = batch(64);
  auto eval_loss = [&] {
    NoGradGuard guard;
    return cross_entropy(model.forward(x_eval), t_eval).item();
  };
  const float initial = eval_loss();
  SGD opt(model.parameters(), SGDOptions(0.2).momentum(0.5));
  for (int step = 0; step < 60; ++step) {
    auto [x, t] = batch(16);
    opt.zero_grad();
    cross_entropy(model.forward(x), t).backward();
    opt.step();
  }
  const float final_loss = eval_loss();
  MESSAGE("toy problem: held-out loss " << initial << " -> " << final_loss);
  CHECK(final_loss < 0.5f * initial);
  CHECK(final_loss < 0.2f);
}
