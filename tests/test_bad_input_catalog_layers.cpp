// The bad-input catalog, losses to files (tests/bad_input_catalog.h): each invalid use throws
// convgrad::Error naming the offending value and leaves every object it touched usable.
#include <doctest/doctest.h>

#include "bad_input_catalog.h"

using namespace convgrad;
using namespace convgrad::testing;

namespace {

std::vector<Case> catalog(World& W) {
  std::string bad_file = (W.dir / "truncated.npz").string();
  return {
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
    "bad-input catalog (losses, optimizers, modules, checkpoints, files): every invalid use throws convgrad::Error naming the value; nothing is damaged") {
  World W;
  std::vector<Case> cases = catalog(W);
  CHECK(cases.size() >= 35);
  MESSAGE(cases.size() << " invalid uses in this part of the catalog");
  check_cases(cases, &W);
  check_still_trains(W);
}
