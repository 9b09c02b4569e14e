// The bad-input catalog shared by tests/test_bad_input_catalog*.cpp: invalid uses across the whole API.
// Each one must throw convgrad::Error whose message names the offending value, and leave every object it
// touched usable (checked after each one).
#pragma once

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

namespace convgrad::testing {

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

inline Tensor leaf_copy(const Tensor& t) {
  Tensor l = clone_data(t);
  l.set_requires_grad();
  return l;
}

// Runs every case: each must throw convgrad::Error containing its needles; when `world` is given, it must
// stay usable after each one.
inline void check_cases(const std::vector<Case>& cases, World* world = nullptr) {
  for (const Case& c : cases) {
    CAPTURE(c.what);
    bool is_error = false;
    std::string msg = message_of(c.call, is_error);
    CAPTURE(msg);
    CHECK(is_error);
    for (const auto& needle : c.needles)
      CHECK_MESSAGE(msg.find(needle) != std::string::npos, "missing: " << needle);
    if (world) world->usable();
  }
}

// After a catalog: the optimizer still trains, so one real step changes the model and stays finite.
inline void check_still_trains(World& W) {
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

}  // namespace convgrad::testing
