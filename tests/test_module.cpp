// Module system: registration, dotted names, train/eval, zero_grad, state dicts, printing, and init.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "autograd/ops.h"
#include "core/factory.h"
#include "layers/convgrad.h"

using namespace convgrad;

namespace {

// A custom layer as a user writes it: parameters, a buffer, a submodule, and a forward from ops.
struct Block : Module {
  std::shared_ptr<Linear> fc;
  Tensor scale;
  Block() {
    fc = register_module("fc", std::make_shared<Linear>(LinearOptions(3, 2)));
    scale = register_parameter("scale", full({2}, 2.0));
    register_buffer("calls", zeros({1}));
  }
  Tensor forward(const Tensor& x) override { return fc->forward(x) * scale; }
  std::string name() const override { return "Block"; }
};

std::vector<std::string> names(const NamedTensors& nt) {
  std::vector<std::string> out;
  for (const auto& [n, _] : nt) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("dotted names follow registration order like a PyTorch state dict") {
  auto net = std::make_shared<Module>();
  auto blocks = std::make_shared<Sequential>();
  blocks->push_back(std::make_shared<Conv2d>(Conv2dOptions(1, 2, 3)));
  blocks->push_back(std::make_shared<ReLU>());
  blocks->push_back(std::make_shared<BatchNorm2d>(BatchNorm2dOptions(2)));
  net->register_module("blocks", blocks);
  auto up = net->register_module(
      "up", std::make_shared<ConvTranspose2d>(ConvTranspose2dOptions(2, 1, 4).bias(false)));
  static_assert(std::is_same_v<decltype(up), std::shared_ptr<ConvTranspose2d>>);

  CHECK(names(net->named_parameters()) == std::vector<std::string>{"blocks.0.weight", "blocks.0.bias",
                                                                   "blocks.2.weight", "blocks.2.bias",
                                                                   "up.weight"});
  CHECK(names(net->named_buffers()) == std::vector<std::string>{"blocks.2.running_mean",
                                                                "blocks.2.running_var",
                                                                "blocks.2.num_batches_tracked"});
  // PyTorch's state-dict order: per module its parameters, then its buffers, then its children.
  CHECK(names(net->state_dict()) == std::vector<std::string>{"blocks.0.weight", "blocks.0.bias",
                                                             "blocks.2.weight", "blocks.2.bias",
                                                             "blocks.2.running_mean", "blocks.2.running_var",
                                                             "blocks.2.num_batches_tracked", "up.weight"});
  CHECK(net->parameters().size() == 5);
  CHECK(net->parameters(false).empty());
  CHECK(names(blocks->named_parameters(false)).empty());
  std::vector<std::string> mods;
  for (auto& [n, _] : net->named_modules()) mods.push_back(n);
  CHECK(mods == std::vector<std::string>{"blocks", "blocks.0", "blocks.1", "blocks.2", "up"});
  // The state dict shares data with the module.
  CHECK(net->state_dict()[7].second.is_same(up->weight));
  CHECK(up->weight.shape() == Shape{2, 1, 4, 4});
}

TEST_CASE("register_module<T> builds the submodule from its constructor arguments") {
  Module net;
  auto conv = net.register_module<Conv2d>("conv", Conv2dOptions(3, 8, 3).stride(2).bias(false));
  auto fc = net.register_module<Linear>("fc", LinearOptions(8, 2));
  CHECK(conv->weight.shape() == Shape{8, 3, 3, 3});
  CHECK(!conv->bias.defined());
  CHECK(conv->options().stride() == Pair{2, 2});
  auto named = net.named_parameters();
  REQUIRE(named.size() == 3);
  CHECK(named[0].first == "conv.weight");
  CHECK(named[0].second.is_same(conv->weight));
  CHECK(named[1].first == "fc.weight");
  CHECK(named[2].first == "fc.bias");
  CHECK_THROWS_WITH_AS(net.register_module<Linear>("fc", LinearOptions(1, 1)), doctest::Contains("already"),
                       Error);
}

TEST_CASE("registration rejects bad names and non-leaf parameters") {
  Block b;
  CHECK_THROWS_WITH_AS(b.register_parameter("scale", zeros({1})), doctest::Contains("already registered"),
                       Error);
  CHECK_THROWS_WITH_AS(b.register_buffer("fc", zeros({1})), doctest::Contains("already registered"), Error);
  CHECK_THROWS_WITH_AS(b.register_parameter("a.b", zeros({1})), doctest::Contains("no '.'"), Error);
  CHECK_THROWS_WITH_AS(b.register_parameter("", zeros({1})), doctest::Contains("non-empty"), Error);
  CHECK_THROWS_AS(b.register_parameter("i", zeros({1}, DType::Int64)), Error);
  Tensor leaf = ones({2});
  leaf.set_requires_grad();
  CHECK_THROWS_WITH_AS(b.register_parameter("derived", leaf * 2.f), doctest::Contains("not a leaf"), Error);
  CHECK_THROWS_AS(b.register_module("null", std::shared_ptr<Module>()), Error);
  CHECK(b.parameter("scale").requires_grad());
  CHECK_THROWS_AS(b.parameter("nope"), Error);
  CHECK(b.buffer("calls").shape() == Shape{1});
}

TEST_CASE("a custom module trains through its forward with no backward written") {
  Block b;
  Tensor x = tensor({{1, 2, 3}});
  Tensor y = b(x);
  // y = (x W^T + bias) * 2, so d sum(y) / d bias = 2 and d sum(y) / d scale = x W^T + bias.
  sum(y).backward();
  CHECK(b.fc->bias.grad().to_vector() == std::vector<float>{2, 2});
  Tensor pre = b.fc->forward(x).detach();
  CHECK(b.scale.grad().at({0}) == doctest::Approx(pre.at({0, 0})));
  CHECK(b.fc->weight.grad().at({1, 2}) == doctest::Approx(6.0));
  b.zero_grad();
  CHECK_FALSE(b.scale.grad().defined());
  sum(b(x)).backward();
  b.zero_grad(/*set_to_none=*/false);
  CHECK(b.fc->weight.grad().to_vector() == std::vector<float>(6, 0.f));
  // The base forward explains what to do instead of crashing.
  Module bare;
  CHECK_THROWS_WITH_AS(bare.forward(x), doctest::Contains("override"), Error);
}

TEST_CASE("train and eval reach every submodule") {
  Sequential seq({std::make_shared<Conv2d>(Conv2dOptions(1, 1, 1)), std::make_shared<Dropout>(),
                  std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
                      std::make_shared<BatchNorm2d>(BatchNorm2dOptions(1))})});
  CHECK(seq.is_training());
  seq.eval();
  CHECK_FALSE(seq.is_training());
  for (auto& [n, m] : seq.named_modules()) CHECK_MESSAGE(!m->is_training(), n);
  seq.train();
  for (auto& [n, m] : seq.named_modules()) CHECK_MESSAGE(m->is_training(), n);
  CHECK(seq.size() == 3);
  CHECK(seq.at<Dropout>(1)->options().p() == 0.5f);
  CHECK_THROWS_WITH_AS(seq.at<Linear>(0), doctest::Contains("Conv2d"), Error);
  CHECK_THROWS_WITH_AS(seq[3], doctest::Contains("out of range"), Error);
}

TEST_CASE("Sequential chains forward and names the failing element") {
  Sequential seq(
      {std::make_shared<Flatten>(), std::make_shared<Linear>(LinearOptions(4, 2)), std::make_shared<ReLU>()});
  Tensor y = seq.forward(ones({3, 1, 2, 2}));
  CHECK(y.shape() == Shape{3, 2});
  CHECK_THROWS_WITH_AS(seq.forward(ones({3, 5})), doctest::Contains("module '1' (Linear)"), Error);
  Sequential empty_seq;
  Tensor x = ones({2});
  CHECK(empty_seq.forward(x).is_same(x));
}

TEST_CASE("load_state_dict reports every problem at once and changes nothing on error") {
  Block b;
  std::vector<float> before = b.fc->weight.to_vector();
  std::map<std::string, Tensor> state;
  for (auto& [n, t] : b.state_dict()) state[n] = full(t.shape(), 7.0, t.dtype());
  state.erase("fc.bias");              // missing
  state["fc.weigth"] = zeros({2, 3});  // unexpected (typo)
  state["scale"] = zeros({3});         // wrong shape
  std::string message;
  try {
    b.load_state_dict(state);
  } catch (const Error& e) {
    message = e.what();
  }
  CHECK(message.find("3 problem(s)") != std::string::npos);
  CHECK(message.find("missing 'fc.bias' (expected shape [2])") != std::string::npos);
  CHECK(message.find("unexpected 'fc.weigth'") != std::string::npos);
  CHECK(message.find("shape mismatch for 'scale': the module has [2], the state dict [3]") !=
        std::string::npos);
  CHECK(b.fc->weight.to_vector() == before);  // fc.weight was valid but must not have been copied

  // Non-strict loading ignores missing/unexpected names but still refuses wrong shapes.
  state["scale"] = full({2}, 5.0);
  b.load_state_dict(state, /*strict=*/false);
  CHECK(b.fc->weight.to_vector() == std::vector<float>(6, 7.f));
  CHECK(b.scale.to_vector() == std::vector<float>{5, 5});
  CHECK(b.scale.requires_grad());  // loaded in place: same leaf, optimizers keep their references
  state["calls"] = zeros({1}, DType::Int64);
  CHECK_THROWS_WITH_AS(b.load_state_dict(state, false), doctest::Contains("dtype mismatch for 'calls'"),
                       Error);
}

TEST_CASE("modules print like PyTorch") {
  Sequential seq({std::make_shared<Conv2d>(Conv2dOptions(3, 8, 3).stride(2).padding(1).bias(false)),
                  std::make_shared<LeakyReLU>(LeakyReLUOptions().negative_slope(0.2f)),
                  std::make_shared<MaxPool2d>(MaxPool2dOptions(2))});
  CHECK(to_string(seq) ==
        "Sequential(\n"
        "  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)\n"
        "  (1): LeakyReLU(negative_slope=0.2)\n"
        "  (2): MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))\n"
        ")");
}

TEST_CASE("options validate at construction with a clear message") {
  CHECK_THROWS_WITH_AS(Conv2d(Conv2dOptions(3, 8, 3).groups(2)), doctest::Contains("groups=2 must divide"),
                       Error);
  CHECK_THROWS_WITH_AS(Conv2d(Conv2dOptions(3, 8, 3).stride(2).padding(PaddingMode::Same)),
                       doctest::Contains("padding='same' needs stride 1"), Error);
  CHECK_THROWS_WITH_AS(ConvTranspose2d(ConvTranspose2dOptions(2, 2, 3).stride(2).output_padding(2)),
                       doctest::Contains("output_padding"), Error);
  CHECK_THROWS_AS(Linear(LinearOptions(0, 3)), Error);
  CHECK_THROWS_AS(MaxPool2d(MaxPool2dOptions(2).padding(2)), Error);
  CHECK_THROWS_AS(Dropout(DropoutOptions(1.5f)), Error);
  CHECK_THROWS_AS(Upsample{UpsampleOptions()}, Error);
  CHECK_THROWS_WITH_AS(Linear(LinearOptions(4, 2)).forward(ones({2, 3})), doctest::Contains("(..., 4)"),
                       Error);
  CHECK_THROWS_WITH_AS(BatchNorm2d(BatchNorm2dOptions(3)).forward(ones({2, 4, 1, 1})),
                       doctest::Contains("(N, 3, H, W)"), Error);
  // Option getters return what the setters set (and the defaults PyTorch has).
  auto o = ConvTranspose2dOptions(20, 10, 5).stride(3).padding(2).output_padding(1).output_size({16, 16});
  CHECK(o.stride() == Pair{3, 3});
  CHECK(o.output_padding() == Pair{1, 1});
  CHECK(*o.output_size() == Pair{16, 16});
  CHECK(MaxPool2dOptions(3).stride() == Pair{3, 3});
  // padding takes "same" / "valid"; padding_mode is what the padding holds, set independently.
  auto same = Conv2dOptions(1, 1, {3, 5}).padding(PaddingMode::Same).padding_mode(ConvPaddingMode::Reflect);
  CHECK(same.func_options().padding_kind() == PaddingMode::Same);
  CHECK(same.padding_mode() == ConvPaddingMode::Reflect);
  CHECK(same.padding(2).func_options().padding_kind() == PaddingMode::Explicit);  // the last padding wins
  CHECK(same.padding() == Pair{2, 2});
  CHECK(same.padding(PaddingMode::Valid).padding() == Pair{0, 0});
  CHECK(same.padding_mode() == ConvPaddingMode::Reflect);
}

// ---- initialisation ----

namespace {
// The largest |v|; infinity when a value is NaN, so a bound check on it fails.
float max_abs(const Tensor& t) {
  float m = 0.f;
  for (float v : t.to_vector()) m = std::isnan(v) ? INFINITY : std::max(m, std::abs(v));
  return m;
}
double sample_std(const Tensor& t) {
  auto v = t.to_vector<double>();
  double mean = 0, sq = 0;
  for (double x : v) mean += x;
  mean /= v.size();
  for (double x : v) sq += (x - mean) * (x - mean);
  return std::sqrt(sq / (v.size() - 1));
}
}  // namespace

TEST_CASE("fans and gains are PyTorch's, including ConvTranspose2d's fan_in from weight dim 1") {
  CHECK(init::calculate_fan_in_and_fan_out(zeros({8, 3, 3, 3})) == std::pair<int64_t, int64_t>{27, 72});
  // ConvTranspose2d(4, 2, 4): weight (4, 2, 4, 4), fan_in = 2 * 16.
  CHECK(init::calculate_fan_in_and_fan_out(zeros({4, 2, 4, 4})) == std::pair<int64_t, int64_t>{32, 64});
  CHECK(init::calculate_fan_in_and_fan_out(zeros({5, 10})) == std::pair<int64_t, int64_t>{10, 5});
  CHECK_THROWS_WITH_AS(init::calculate_fan_in_and_fan_out(zeros({5})), doctest::Contains("at least 2 dims"),
                       Error);
  CHECK(init::calculate_gain(init::Nonlinearity::ReLU) == doctest::Approx(std::sqrt(2.0)));
  CHECK(init::calculate_gain(init::Nonlinearity::Tanh) == doctest::Approx(5.0 / 3.0));
  CHECK(init::calculate_gain(init::Nonlinearity::LeakyReLU, std::sqrt(5.0)) ==
        doctest::Approx(std::sqrt(1.0 / 3.0)));
}

TEST_CASE("default layer init: U(+-1/sqrt(fan_in)) for weights and biases, reproducible with a seed") {
  struct Case {
    std::shared_ptr<Module> m;
    double fan_in;
  };
  std::vector<Case> cases = {
      {std::make_shared<Conv2d>(Conv2dOptions(6, 40, 3)), 54.0},
      {std::make_shared<ConvTranspose2d>(ConvTranspose2dOptions(40, 6, 4).groups(2)), 48.0},
      {std::make_shared<Linear>(LinearOptions(30, 50)), 30.0}};
  for (auto& c : cases) {
    const double bound = 1.0 / std::sqrt(c.fan_in);
    Tensor w = c.m->parameter("weight"), b = c.m->parameter("bias");
    INFO(c.m->name());
    CHECK(max_abs(w) <= bound);
    CHECK(max_abs(w) > 0.95 * bound);  // >1000 draws: the extremes get close to the bound
    CHECK(max_abs(b) <= bound);
    CHECK(sample_std(w) == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.1));
  }
  Generator g1(7), g2(7);
  Conv2d a(Conv2dOptions(2, 3, 3), g1), b(Conv2dOptions(2, 3, 3), g2);
  CHECK(a.weight.to_vector() == b.weight.to_vector());
  CHECK(a.bias.to_vector() == b.bias.to_vector());
  a.reset_parameters(g1);
  CHECK(a.weight.to_vector() != b.weight.to_vector());
  BatchNorm2d bn(BatchNorm2dOptions(2));
  CHECK(bn.weight.to_vector() == std::vector<float>{1, 1});
  CHECK(bn.bias.to_vector() == std::vector<float>{0, 0});
  CHECK(bn.running_var.to_vector() == std::vector<float>{1, 1});
  CHECK(bn.num_batches_tracked.item<int64_t>() == 0);
}

TEST_CASE("xavier and kaiming match their formulas") {
  Generator gen(3);
  Tensor w = zeros({200, 300});
  init::xavier_uniform_(w, 1.0, gen);
  CHECK(max_abs(w) <= std::sqrt(6.0 / 500));
  CHECK(sample_std(w) == doctest::Approx(std::sqrt(2.0 / 500)).epsilon(0.02));
  init::xavier_normal_(w, 2.0, gen);
  CHECK(sample_std(w) == doctest::Approx(2.0 * std::sqrt(2.0 / 500)).epsilon(0.02));
  init::kaiming_normal_(w, 0.0, init::FanMode::FanIn, init::Nonlinearity::ReLU, gen);
  CHECK(sample_std(w) == doctest::Approx(std::sqrt(2.0 / 300)).epsilon(0.02));
  init::kaiming_uniform_(w, 0.0, init::FanMode::FanOut, init::Nonlinearity::ReLU, gen);
  CHECK(max_abs(w) <= std::sqrt(6.0 / 200));
  CHECK(max_abs(w) > 0.99 * std::sqrt(6.0 / 200));
  // In-place fills write through strided views too: the transposed view of a 2x3 tensor.
  Tensor base = zeros({2, 3});
  Tensor col = as_strided(base, {2}, {3}, 1);  // column 1
  init::constant_(col, 4.0);
  CHECK(base.to_vector() == std::vector<float>{0, 4, 0, 0, 4, 0});
  init::ones_(base);
  CHECK(base.to_vector() == std::vector<float>(6, 1.f));
}

TEST_CASE("bilinear_kernel is d2l's: diagonal channel pairs, profile [0.25, 0.75, 0.75, 0.25] for k = 4") {
  Tensor w = bilinear_kernel(3, 3, 4);
  CHECK(w.shape() == Shape{3, 3, 4, 4});
  const float p4[4] = {0.25f, 0.75f, 0.75f, 0.25f};
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 4; ++j) CHECK(w.at({c, c, i, j}) == doctest::Approx(p4[i] * p4[j]));
  CHECK(w.at({0, 1, 1, 1}) == 0.f);
  CHECK(w.at({2, 0, 2, 2}) == 0.f);
  // Odd k: f = 2, centre 1 -> [0.5, 1, 0.5].
  Tensor w3 = bilinear_kernel(1, 1, 3);
  CHECK(w3.to_vector() == std::vector<float>{0.25f, 0.5f, 0.25f, 0.5f, 1.f, 0.5f, 0.25f, 0.5f, 0.25f});
  // in != out: only pairs (i, i) with i < min(in, out).
  Tensor w23 = bilinear_kernel(2, 3, 2);
  CHECK(w23.at({1, 1, 0, 0}) == 0.25f);
  CHECK(sum(w23).item() == doctest::Approx(2.0));
  CHECK_THROWS_AS(bilinear_kernel(0, 1, 4), Error);
}

TEST_CASE("a module cycle is refused when the child is added, with the path back in the error") {
  auto a = std::make_shared<Sequential>(), b = std::make_shared<Sequential>();
  a->push_back(std::make_shared<Linear>(LinearOptions(2, 2)));
  a->push_back(b);  // b is a's "1"
  CHECK_THROWS_WITH_AS(b->push_back(a), doctest::Contains("adding '0' (Sequential) would make a cycle"),
                       Error);
  CHECK_THROWS_WITH_AS(b->push_back(a), doctest::Contains("'0.1' would lead back"), Error);
  // Deeper: c inside b inside a; adding a under c is refused, naming the whole path.
  auto c = b->push_back(std::make_shared<ModuleList>());
  CHECK_THROWS_WITH_AS(c->push_back(a), doctest::Contains("'0.1.0' would lead back"), Error);
  CHECK_THROWS_WITH_AS(b->register_module("again", a), doctest::Contains("'again.1' would lead back"), Error);
  // Nothing was added: the tree is finite, and every walk over it ends.
  CHECK(b->size() == 1);
  CHECK(c->size() == 0);
  CHECK(a->parameters().size() == 2);
  a->eval();
  CHECK(!b->is_training());
  CHECK(a->state_dict().size() == 2);
  CHECK(to_string(*a).find("ModuleList") != std::string::npos);
  // A module shared by two parents is not a cycle.
  auto shared = std::make_shared<Linear>(LinearOptions(2, 2));
  auto p = std::make_shared<Sequential>(shared), q = std::make_shared<Sequential>(shared, p);
  CHECK(q->parameters().size() == 2);
}

TEST_CASE("a module used twice lists its parameters once and an optimizer accepts them") {
  auto l = std::make_shared<Linear>(LinearOptions(3, 3));
  Sequential twice(l, std::make_shared<ReLU>(), l);
  CHECK(names(twice.named_parameters()) == std::vector<std::string>{"0.weight", "0.bias"});
  CHECK(twice.parameters().size() == 2);
  CHECK(twice.named_modules().size() == 2);  // "0" and "1": the second use of l is the same module
  // The state dict keeps every name, as PyTorch's does, so checkpoints load either way.
  CHECK(names(twice.state_dict()) == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  SGD sgd(twice.parameters(), SGDOptions(0.1));
  // With w = 0.5 and b = 0.1 the hidden units are 1.6 (ReLU open); each weight's gradient is 3.2 from the
  // second use plus 3.0 from the first (batch of 2), so one step of lr 0.1 lowers it by 0.62.
  init::constant_(l->weight, 0.5);
  init::constant_(l->bias, 0.1);
  Tensor x = ones({2, 3});
  sum(twice.forward(x)).backward();
  const std::vector<float> before = l->weight.to_vector();
  sgd.step();
  const std::vector<float> after = l->weight.to_vector();
  for (size_t k = 0; k < after.size(); ++k) CHECK(after[k] == doctest::Approx(before[k] - 0.62f));
  // A parameter tensor registered on two modules (tied weights) is listed once too.
  Module tied;
  Tensor w = ones({2});
  tied.register_parameter("a", w);
  tied.register_parameter("b", w);
  CHECK(tied.parameters().size() == 1);
}
