// The bad-input catalog: invalid uses across the whole API. Each one must throw convgrad::Error whose
// message names the offending value, and leave every object it touched usable (checked after each one).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "core/backend.h"
#include "core/factory.h"
#include "core/npy.h"
#include "core/random.h"
#include "core/threading.h"
#include "layers/checkpoint.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/loss.h"
#include "layers/lr_scheduler.h"
#include "layers/module.h"
#include "layers/optim.h"
#include "layers/sequential.h"

using namespace convgrad;

namespace {

// One invalid use: what it is, the call, and the substrings its message must contain.
struct Case {
  std::string what;
  std::function<void()> call;
  std::vector<std::string> needles;
};

// The objects the invalid calls are made on; `usable()` proves none was damaged.
struct World {
  Generator gen{11};
  Tensor x = reshape(arange(24), {2, 3, 4});  // values 0..23
  Tensor img = randn({1, 2, 5, 5}, gen);
  Tensor w = randn({4, 2, 3, 3}, gen);
  Tensor labels = from_vector(std::vector<int64_t>{0, 2}, {2});
  std::shared_ptr<Sequential> model =
      std::make_shared<Sequential>(std::make_shared<Conv2d>(Conv2dOptions(2, 4, 3).padding(1), gen),
                                   std::make_shared<Linear>(LinearOptions(5, 3), gen));
  std::vector<Tensor> params = model->parameters();
  SGD sgd{params, SGDOptions(0.1).momentum(0.9)};
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("convgrad_catalog_" + std::to_string(::getpid()));
  std::string good_ckpt;
  std::vector<float> snapshot;  // the model's values before any invalid call

  World() {
    std::filesystem::create_directories(dir);
    good_ckpt = (dir / "good.npz").string();
    save(*model, good_ckpt);
    for (const auto& p : model->parameters())
      for (float v : p.to_vector()) snapshot.push_back(v);
  }
  ~World() { std::filesystem::remove_all(dir); }

  std::vector<float> values() const {
    std::vector<float> out;
    for (const auto& p : model->parameters())
      for (float v : p.to_vector()) out.push_back(v);
    return out;
  }

  // After an invalid call: data intact, the model unchanged and still runs, one training step still works.
  void usable() {
    CHECK(x.to_vector() == arange(24).to_vector());
    CHECK(x.shape() == Shape{2, 3, 4});
    CHECK(sum(x).item() == 276.f);
    CHECK(values() == snapshot);
    CHECK(sgd.lr() == 0.1);
    CHECK(sgd.step_count() == 0);
    Tensor y = model->forward(img);
    CHECK(y.shape() == Shape{1, 4, 5, 3});
    CHECK(conv2d(img, w, Tensor(), Conv2dFuncOptions().padding(1)).shape() == Shape{1, 4, 5, 5});
  }
};

template <class F>
std::string message_of(F&& fn, bool& threw_error) {
  threw_error = false;
  try {
    fn();
  } catch (const Error& e) {
    threw_error = true;
    return e.what();
  } catch (const std::exception& e) {
    return std::string("a non-convgrad exception: ") + e.what();
  }
  return "no exception";
}

Tensor leaf_copy(const Tensor& t) {
  Tensor l = clone_data(t);
  l.set_requires_grad();
  return l;
}

std::vector<Case> catalog(World& W) {
  Tensor& x = W.x;
  auto conv_t = [&](Pair stride, Pair pad, Pair out_pad) {
    return conv_transpose2d(randn({1, 4, 3, 3}, W.gen), randn({4, 2, 3, 3}, W.gen), Tensor(),
                            ConvTranspose2dFuncOptions().stride(stride).padding(pad).output_padding(out_pad));
  };
  std::string bad_file = (W.dir / "truncated.npz").string();
  return {
      // ---- tensors and factories ----
      {"from_vector with too few values",
       [] {
         from_vector(std::vector<float>{1, 2, 3}, {2, 2});
       },
       {"3 values", "[2, 2]"}},
      {"negative size",
       [] {
         zeros({2, -3});
       },
       {"[2, -3]", "non-negative"}},
      {"element count overflows int64",
       [] {
         empty({int64_t{1} << 32, int64_t{1} << 32});
       },
       {"[4294967296, 4294967296]", "overflow"}},
      {"byte size overflows size_t", [] { empty({int64_t{1} << 61}); }, {"[2305843009213693952]"}},
      {"index out of range",
       [&] {
         x.at({1, 3, 0});
       },
       {"index 3", "size 3"}},
      {"wrong number of indices",
       [&] {
         x.at({0, 0});
       },
       {"2 indices", "[2, 3, 4]"}},
      {"item() of many elements", [&] { x.item(); }, {"[2, 3, 4]"}},
      {"data<int64_t>() of float32", [&] { x.data<int64_t>(); }, {"float32", "int64"}},
      {"dim out of range", [&] { x.size(3); }, {"dim 3 is out of range", "3 dims"}},
      {"requires_grad on int64", [&] { Tensor(W.labels).detach().set_requires_grad(); }, {"int64"}},
      {"backward without requires_grad", [&] { sum(x).backward(); }, {"does not require grad"}},
      {"backward of non-scalar without gradient",
       [&] { mul(leaf_copy(x), x).backward(); },
       {"[2, 3, 4]", "scalar"}},
      {"backward gradient of the wrong shape",
       [&] { mul(leaf_copy(x), x).backward(ones({4})); },
       {"[4]", "[2, 3, 4]"}},
      {"tensor rows of different lengths",
       [] {
         tensor({{1.f, 2.f}, {3.f}});
       },
       {"2 and 1"}},
      {"arange with step 0", [] { arange(0, 5, 0); }, {"step must be non-zero"}},
      // ---- elementwise and reductions ----
      {"broadcast mismatch", [&] { add(x, ones({5})); }, {"[2, 3, 4]", "[5]"}},
      {"matmul inner sizes",
       [] {
         matmul(ones({2, 3}), ones({4, 5}));
       },
       {"[2, 3]", "[4, 5]"}},
      {"conv2d of an int64 tensor", [&] { conv2d(to_dtype(W.img, DType::Int64), W.w); }, {"int64"}},
      {"softmax of an int64 tensor", [&] { softmax(W.labels, 0); }, {"int64"}},
      {"sum over a dim out of range", [&] { sum(x, {5}); }, {"dim 5", "3 dims"}},
      {"softmax dim out of range", [&] { softmax(x, -4); }, {"dim -4 is out of range", "3 dims"}},
      {"argmax dim out of range", [&] { argmax(x, 3); }, {"dim 3 is out of range", "3 dims"}},
      // ---- shape ops ----
      {"reshape to another element count",
       [&] {
         reshape(x, {5, 5});
       },
       {"[5, 5]", "[2, 3, 4]"}},
      {"reshape with two -1",
       [&] {
         reshape(x, {-1, -1});
       },
       {"only one size may be -1", "[-1, -1]"}},
      {"permute with a repeated dim",
       [&] {
         permute(x, {0, 0, 1});
       },
       {"[0, 0, 1]"}},
      {"transpose dim out of range", [&] { transpose(x, 0, 7); }, {"dim 7 is out of range", "3 dims"}},
      {"slice with step 0", [&] { slice(x, 0, 0, 2, 0); }, {"step must be positive, got 0"}},
      {"select index out of range", [&] { select(x, 2, 9); }, {"index 9 is out of range", "size 4"}},
      {"expand to an incompatible shape",
       [&] {
         expand(x, {2, 5, 4});
       },
       {"[2, 5, 4]"}},
      {"concat of mismatched shapes",
       [&] {
         concat({x, ones({2, 2, 5})}, 1);
       },
       {"[2, 2, 5]"}},
      {"concat of nothing", [] { concat({}, 0); }, {"concat", "at least one tensor"}},
      {"pad with an odd pad count",
       [&] {
         pad(x, {1, 1, 1});
       },
       {"(low, high) pairs, got 3 values"}},
      {"as_strided past the end of the storage",
       [&] { as_strided(x, {5}, {1}, 20); },
       {"address element 24", "storage of 24 float32 elements"}},
      {"as_strided with a negative storage offset",
       [&] { as_strided(x, {2}, {1}, -1); },
       {"offset -1 is negative"}},
      {"as_strided with a negative stride",
       [&] { as_strided(x, {2}, {-1}, 5); },
       {"negative strides", "[-1]"}},
      {"element count overflow behind a zero size",
       [] {
         zeros({0, int64_t{1} << 62, 4});
       },
       {"[0, 4611686018427387904, 4]", "overflows int64"}},
      // ---- autograd and in-place changes ----
      {"backward after a saved tensor was changed in place",
       [&] {
         Tensor a = leaf_copy(x), c = clone_data(x);
         Tensor loss = sum(mul(a, c));
         detail::copy_values(c, zeros({2, 3, 4}));
         loss.backward();
       },
       {"modified by an inplace operation", "backward of 'mul'", "is at version 1; expected version 0"}},
      // ---- convolutions ----
      {"conv2d stride 0",
       [&] { conv2d(W.img, W.w, Tensor(), Conv2dFuncOptions().stride(0)); },
       {"stride=[0, 0]"}},
      {"conv2d negative padding",
       [&] { conv2d(W.img, W.w, Tensor(), Conv2dFuncOptions().padding(-1)); },
       {"padding=[-1, -1]"}},
      {"conv2d dilation 0",
       [&] {
         conv2d(W.img, W.w, Tensor(), Conv2dFuncOptions().dilation({1, 0}));
       },
       {"dilation=[1, 0]"}},
      {"conv2d groups not dividing channels",
       [&] {
         conv2d(W.img, randn({4, 1, 3, 3}), Tensor(), Conv2dFuncOptions().groups(3));
       },
       {"groups=3"}},
      {"conv2d channel mismatch",
       [&] {
         conv2d(W.img, randn({4, 3, 3, 3}), Tensor());
       },
       {"2 channels", "[4, 3, 3, 3]"}},
      {"conv2d kernel larger than padded input",
       [&] {
         conv2d(W.img, randn({4, 2, 7, 7}));
       },
       {"[4, 2, 7, 7]", "extent 7"}},
      {"conv2d 2-D input",
       [&] {
         conv2d(ones({5, 5}), W.w);
       },
       {"[5, 5]", "2-D"}},
      {"conv2d bias of the wrong length", [&] { conv2d(W.img, W.w, ones({3})); }, {"bias shape [3]", "[4]"}},
      {"conv2d padding='same' with stride 2",
       [&] { conv2d(W.img, W.w, Tensor(), Conv2dFuncOptions().padding(PaddingMode::Same).stride(2)); },
       {"same", "stride=[2, 2]"}},
      {"conv_transpose2d output_padding >= stride",
       [conv_t] {
         conv_t({2, 2}, {1, 1}, {2, 2});
       },
       {"output_padding=[2, 2]", "stride=[2, 2]"}},
      {"conv_transpose2d negative output_padding",
       [conv_t] {
         conv_t({2, 2}, {0, 0}, {-1, 0});
       },
       {"output_padding=[-1, 0]"}},
      {"conv_transpose2d unreachable output_size",
       [&] {
         conv_transpose2d(randn({1, 4, 3, 3}), randn({4, 2, 3, 3}), Tensor(),
                          ConvTranspose2dFuncOptions().stride(2).output_size({20, 7}));
       },
       {"output_size=[20, 7]", "7..8"}},
      {"conv_transpose2d padding removes everything",
       [conv_t] {
         conv_t({1, 1}, {3, 3}, {0, 0});
       },
       {"padding <= 2"}},
      {"conv_transpose2d channel mismatch",
       [&] { conv_transpose2d(W.img, W.w); },
       {"2 channels", "[4, 2, 3, 3]"}},
      // ---- nn ops ----
      {"max_pool2d kernel 0",
       [&] {
         max_pool2d(W.img, {0, 2});
       },
       {"[0, 2]"}},
      {"dropout p = 1", [&] { dropout(x, 1.f, true); }, {"got 1"}},
      {"batch_norm training on one value per channel",
       [] {
         batch_norm(ones({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true);
       },
       {"[1, 3]"}},
      {"batch_norm with a NaN momentum",
       [&] {
         Tensor rm = zeros({2}), rv = ones({2});
         batch_norm(W.img, rm, rv, Tensor(), Tensor(), true, std::nanf(""));
       },
       {"momentum", "nan"}},
      {"batch_norm with momentum 1.5",
       [&] { batch_norm(W.img, zeros({2}), ones({2}), Tensor(), Tensor(), true, 1.5f); },
       {"momentum", "[0, 1]", "1.5"}},
      {"batch_norm running_mean of the wrong length",
       [&] { batch_norm(W.img, zeros({3}), ones({3}), Tensor(), Tensor(), false); },
       {"running_mean", "[3]"}},
      {"upsample to size 0",
       [&] {
         upsample_bilinear2d(W.img, {0, 4});
       },
       {"[0, 4]"}},
      {"reflect pad as wide as the input",
       [&] {
         pad(W.img, {5, 0, 0, 0}, PadMode::Reflect);
       },
       {"reflect", "[5, 0]", "[1, 2, 5, 5]"}},
      {"circular pad of an unbatched input",
       [&] {
         pad(zeros({2, 5, 5}), {1, 1, 1, 1}, PadMode::Circular);
       },
       {"circular", "[2, 5, 5]"}},
      {"avg_pool2d divisor_override 0",
       [&] { avg_pool2d(W.img, AvgPool2dOptions(2).divisor_override(0)); },
       {"divisor_override must not be zero"}},
      {"max_pool2d kernel beyond the input",
       [&] { max_pool2d(W.img, MaxPool2dOptions(7).stride(1)); },
       {"[7, 7]", "[1, 2, 5, 5]"}},
      // ---- losses ----
      {"cross_entropy with float targets",
       [&] {
         cross_entropy(ones({2, 3}), ones({2}));
       },
       {"float32", "int64"}},
      {"cross_entropy target out of range",
       [] {
         cross_entropy(ones({2, 3}), from_vector(std::vector<int64_t>{0, 7}, {2}));
       },
       {"target value 7", "index [1]", "3 classes"}},
      {"cross_entropy negative target",
       [] {
         cross_entropy(ones({2, 3}), from_vector(std::vector<int64_t>{-3, 0}, {2}));
       },
       {"target value -3", "index [0]"}},
      {"cross_entropy target shape",
       [] {
         cross_entropy(ones({2, 3}), from_vector(std::vector<int64_t>{0, 1, 2}, {3}));
       },
       {"target shape [3]", "[2, 3]"}},
      {"cross_entropy weight shape",
       [&] {
         cross_entropy(ones({2, 3}), W.labels, CrossEntropyOptions().weight(ones({4})));
       },
       {"[4]", "[3]"}},
      {"mse_loss shape mismatch",
       [] {
         mse_loss(ones({2, 3}), ones({3, 2}));
       },
       {"[2, 3]", "[3, 2]"}},
      // ---- optimizers and schedulers ----
      {"optimizer step before backward", [&] { W.sgd.step(); }, {"none of the 4 parameters has a gradient"}},
      {"optimizer on an int64 tensor",
       [&] { SGD(std::vector<Tensor>{W.labels}, SGDOptions(0.1)); },
       {"int64"}},
      {"optimizer given a parameter twice",
       [&] {
         SGD({W.params[0], W.params[0]}, SGDOptions(0.1));
       },
       {"parameter 1", "twice"}},
      {"negative learning rate", [&] { SGD(W.params, SGDOptions(-0.5)); }, {"-0.5"}},
      {"Adam beta1 >= 1", [&] { Adam(W.params, AdamOptions().betas(1.5, 0.999)); }, {"1.5"}},
      {"optimizer state of the wrong shape",
       [&] {
         auto st = W.sgd.state_dict();
         std::map<std::string, Tensor> m(st.begin(), st.end());
         m["param.0.momentum_buffer"] = zeros({7});
         W.sgd.load_state_dict(m);
       },
       {"param.0.momentum_buffer", "[7]"}},
      {"StepLR step_size 0", [&] { StepLR(W.sgd, 0); }, {"got 0"}},
      {"optimizer state with a negative step count",
       [&] {
         auto st = W.sgd.state_dict();
         std::map<std::string, Tensor> m(st.begin(), st.end());
         m["step"] = from_vector(std::vector<int64_t>{-1}, {});
         W.sgd.load_state_dict(m);
       },
       {"'step' is -1"}},
      {"optimizer key with a non-canonical index",
       [&] {
         std::map<std::string, Tensor> m{{"step", from_vector(std::vector<int64_t>{1}, {})},
                                         {"param.00.momentum_buffer", zeros(W.params[0].shape())}};
         W.sgd.load_state_dict(m);
       },
       {"unexpected key 'param.00.momentum_buffer'"}},
      {"amsgrad Adam given a state saved without amsgrad",
       [&] {
         Adam adam(W.params, AdamOptions().amsgrad(true));
         std::map<std::string, Tensor> m{{"step", from_vector(std::vector<int64_t>{1}, {})},
                                         {"param.0.step", from_vector(std::vector<int64_t>{1}, {})},
                                         {"param.0.exp_avg", zeros(W.params[0].shape())},
                                         {"param.0.exp_avg_sq", zeros(W.params[0].shape())}};
         adam.load_state_dict(m);
       },
       {"'param.0.max_exp_avg_sq' is missing", "amsgrad"}},
      {"LRScheduler last_epoch giving an infinite lr",
       [&] {
         StepLR sched(W.sgd, 1, 1e200);
         sched.load_state_dict({{"last_epoch", from_vector(std::vector<int64_t>{5}, {})}});
       },
       {"last_epoch 5", "learning rate inf"}},
      // ---- modules and checkpoints ----
      {"load_state_dict missing names", [&] { W.model->load_state_dict({}); }, {"0.weight", "1.bias"}},
      {"load_state_dict shape mismatch",
       [&] {
         auto sd = W.model->state_dict();
         std::map<std::string, Tensor> m(sd.begin(), sd.end());
         m["1.weight"] = zeros({3, 4});
         W.model->load_state_dict(m);
       },
       {"1.weight", "[3, 4]", "[3, 5]"}},
      {"load_state_dict unexpected name",
       [&] {
         auto sd = W.model->state_dict();
         std::map<std::string, Tensor> m(sd.begin(), sd.end());
         m["2.weight"] = zeros({1});
         W.model->load_state_dict(m);
       },
       {"2.weight"}},
      {"checkpoint file missing", [&] { load(*W.model, (W.dir / "nope.npz").string()); }, {"nope.npz"}},
      {"checkpoint truncated",
       [&, bad_file] {
         std::string bytes = npz_bytes(W.model->state_dict());
         std::ofstream(bad_file, std::ios::binary)
             .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
         load(*W.model, bad_file);
       },
       {"truncated.npz", "nothing was loaded"}},
      {"checkpoint of another model",
       [&] {
         Sequential other(std::make_shared<Conv2d>(Conv2dOptions(2, 6, 3)),
                          std::make_shared<Linear>(LinearOptions(5, 3)));
         std::string path = (W.dir / "other.npz").string();
         save(other, path);
         load(*W.model, path);
       },
       {"0.weight", "[6, 2, 3, 3]", "[4, 2, 3, 3]"}},
      {"a module cycle (a holds b, b adds a)",
       [] {
         auto a = std::make_shared<Sequential>(), b = std::make_shared<Sequential>();
         a->push_back(b);
         b->push_back(a);
       },
       {"cycle", "'0.0'"}},
      {"a module registered under itself",
       [] {
         auto a = std::make_shared<Sequential>();
         a->register_module("self", a);
       },
       {"own child", "self"}},
      {"save over a folder",
       [&] {
         std::filesystem::create_directories(W.dir / "a_folder" / "inner");
         save(*W.model, (W.dir / "a_folder").string());
       },
       {"a_folder", "is unchanged"}},
      {"register_parameter with a dotted name",
       [&] {
         Module m;
         m.register_parameter("a.b", zeros({1}));
       },
       {"a.b"}},
      {"parameter() of an unknown name", [&] { W.model->at<Conv2d>(0)->parameter("gamma"); }, {"gamma"}},
      {"Sequential index out of range", [&] { (*W.model)[5]; }, {"Sequential[5]", "2 modules"}},
      {"Sequential::at with the wrong type", [&] { W.model->at<Conv2d>(1); }, {"Linear"}},
      {"Linear on the wrong feature count",
       [&] {
         W.model->at<Linear>(1)->forward(ones({2, 4}));
       },
       {"(..., 5), got [2, 4]"}},
      // ---- backends and files ----
      {"unknown backend", [] { set_backend("cuda"); }, {"cuda", "reference"}},
      {"load_npy of a missing file", [&] { load_npy((W.dir / "missing.npy").string()); }, {"missing.npy"}},
      {"float64 .npy value beyond the float32 range",
       [&] {
         const std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n";
         std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
         bytes.push_back(static_cast<char>(header.size()));
         bytes.push_back(0);
         const double values[2] = {1.0, 1e39};
         bytes += header + std::string(reinterpret_cast<const char*>(values), sizeof(values));
         const std::string path = (W.dir / "huge_f64.npy").string();
         std::ofstream(path, std::ios::binary) << bytes;
         load_npy(path);
       },
       {"huge_f64.npy", "1e+39", "float32 range"}},
      {"set_num_threads(0)", [] { set_num_threads(0); }, {"got 0"}},
      {"parse_npy of garbage",
       [] { parse_npy("hello world, not numpy", "blob"); },
       {"blob", "not a .npy file"}},
  };
}

}  // namespace

TEST_CASE(
    "bad-input catalog: every invalid use throws convgrad::Error naming the value; nothing is damaged") {
  World W;
  std::vector<Case> cases = catalog(W);
  CHECK(cases.size() >= 40);
  MESSAGE(cases.size() << " invalid uses in the catalog");
  for (const Case& c : cases) {
    CAPTURE(c.what);
    bool is_error = false;
    std::string msg = message_of(c.call, is_error);
    CAPTURE(msg);
    CHECK(is_error);
    for (const auto& needle : c.needles)
      CHECK_MESSAGE(msg.find(needle) != std::string::npos, "missing: " << needle);
    W.usable();
  }
  // The optimizer still trains after all that: one real step changes the model and stays finite.
  Tensor target = randint(0, 4, {1, 5, 3}, W.gen);
  Tensor loss = cross_entropy(W.model->forward(W.img), target);
  W.sgd.zero_grad();
  loss.backward();
  W.sgd.step();
  CHECK(W.sgd.step_count() == 1);
  CHECK(W.values() != W.snapshot);
  for (float v : W.values()) REQUIRE(std::isfinite(v));
  CHECK(cross_entropy(W.model->forward(W.img), target).item() < loss.item());
}

TEST_CASE("limits: sizes that overflow an index type or cannot be allocated give a clear error") {
  constexpr int64_t kHuge = int64_t{1} << 62;
  Tensor img = ones({1, 1, 4, 4}), w = ones({1, 1, 3, 3});
  std::vector<Case> cases{
      {"128 TiB tensor", [] { empty({int64_t{1} << 45}); }, {"140737488355328 bytes"}},
      {"element count of an expand view",
       [] {
         expand(ones({1, 1}), {int64_t{1} << 40, int64_t{1} << 40});
       },
       {"overflow"}},
      {"upsample to 2^40 x 2^40",
       [&] {
         upsample_bilinear2d(img, {int64_t{1} << 40, int64_t{1} << 40});
       },
       {"overflow"}},
      {"conv2d padding 2^62",
       [&] { conv2d(img, w, Tensor(), Conv2dFuncOptions().padding(kHuge)); },
       {"4611686018427387904"}},
      {"conv2d dilation 2^62",
       [&] { conv2d(img, w, Tensor(), Conv2dFuncOptions().dilation(kHuge)); },
       {"4611686018427387904"}},
      {"conv2d stride 2^62 (valid: one output)",
       [&] { conv2d(img, w, Tensor(), Conv2dFuncOptions().stride(kHuge).padding(kHuge)); },
       {"4611686018427387904"}},
      {"conv_transpose2d stride 2^62",
       [&] { conv_transpose2d(img, w, Tensor(), ConvTranspose2dFuncOptions().stride(kHuge)); },
       {"4611686018427387904"}},
      {"conv_transpose2d output_size 2^62",
       [&] {
         conv_transpose2d(img, w, Tensor(),
                          ConvTranspose2dFuncOptions().stride(kHuge).output_size({kHuge, kHuge}));
       },
       {"4611686018427387904"}},
      {"conv2d on a zero-size input of huge height",
       [&] {
         conv2d(zeros({0, 1, kHuge, kHuge}), w, Tensor(), Conv2dFuncOptions().padding(kHuge));
       },
       {"4611686018427387904"}},
      {"max_pool2d padding 2^62",
       [&] {
         max_pool2d(img, {3, 3}, {1, 1}, {kHuge, kHuge});
       },
       {"4611686018427387904"}},
      {"pad by 2^62",
       [&] {
         pad(img, {kHuge, kHuge});
       },
       {"4611686018427387904"}},
      {"replicate pad by 2^62",
       [&] {
         pad(img, {kHuge, kHuge}, PadMode::Replicate);
       },
       {"4611686018427387904"}},
      {"arange of 1e30 elements", [] { arange(0, 1e30); }, {"1e+30"}},
      {"arange to NaN", [] { arange(0, std::nan("")); }, {"nan"}},
      {"randint over 2^61 elements", [] { randint(0, 2, {int64_t{1} << 61}); }, {"[2305843009213693952]"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    bool is_error = false;
    std::string msg = message_of(c.call, is_error);
    CAPTURE(msg);
    CHECK(is_error);
    for (const auto& needle : c.needles)
      CHECK_MESSAGE(msg.find(needle) != std::string::npos, "missing: " << needle);
  }
  CHECK(sum(conv2d(img, w)).item() == 36.f);  // and ordinary calls still work

  // A zero-size shape whose other sizes multiply past int64 is refused like any other, whichever dim is
  // zero (found by fuzz_npy: tests/fuzz/corpus/npy/regress_*): its strides could not be represented.
  CHECK_THROWS_WITH_AS(reshape(zeros({0}), {0, int64_t{1} << 40, int64_t{1} << 40}),
                       doctest::Contains("overflows int64"), Error);
  CHECK_THROWS_WITH_AS(zeros({int64_t{1} << 40, int64_t{1} << 40, 0}), doctest::Contains("overflows int64"),
                       Error);
  Tensor z = reshape(zeros({0}), {0, int64_t{1} << 40, int64_t{1} << 20});
  CHECK(z.numel() == 0);
  CHECK(z.strides() == Shape{int64_t{1} << 60, int64_t{1} << 20, 1});
  CHECK(sum(z).item() == 0.f);
}
