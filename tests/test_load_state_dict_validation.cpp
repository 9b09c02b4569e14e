// Every load_state_dict (optimizers, LR schedulers) checks everything before it changes anything: a
// state that would fail or compute garbage at the next step() is refused up front, and a refused load
// leaves the object exactly as it was.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "core/factory.h"
#include "core/npy.h"
#include "core/random.h"
#include "layers/linear.h"
#include "layers/lr_scheduler.h"
#include "layers/optim.h"

using namespace convgrad;

namespace {

using State = std::map<std::string, Tensor>;

State as_map(const std::vector<std::pair<std::string, Tensor>>& entries) {
  return State(entries.begin(), entries.end());
}

// Every byte of an optimizer's state and its parameters.
std::string fingerprint(const Optimizer& o) {
  std::vector<std::pair<std::string, Tensor>> all = o.state_dict();
  for (size_t i = 0; i < o.params().size(); ++i) all.emplace_back("p" + std::to_string(i), o.params()[i]);
  return npz_bytes(all);
}

// A small model trained two steps by `o`, so every buffer exists.
struct Trained {
  Generator gen{7};
  Linear lin{LinearOptions(3, 2), gen};
  Tensor x = randn({4, 3}, gen);
  void step(Optimizer& o) {
    o.zero_grad();
    sum(mul(lin.forward(x), lin.forward(x))).backward();
    o.step();
  }
};

// The message of a load that must be refused, after checking it changed nothing.
std::string refused(Optimizer& o, const State& state) {
  const std::string before = fingerprint(o);
  const int64_t steps = o.step_count();
  std::string msg = "no error";
  try {
    o.load_state_dict(state);
  } catch (const Error& e) {
    msg = e.what();
  }
  CHECK(fingerprint(o) == before);
  CHECK(o.step_count() == steps);
  return msg;
}

Tensor int_scalar(int64_t v) { return from_vector(std::vector<int64_t>{v}, {}); }

}  // namespace

TEST_CASE("an amsgrad Adam refuses a state saved without amsgrad, before changing anything") {
  Trained m;
  Adam plain(m.lin.parameters(), AdamOptions(0.01));
  m.step(plain);
  m.step(plain);
  State saved = as_map(plain.state_dict());
  Trained n;
  Adam ams(n.lin.parameters(), AdamOptions(0.01).amsgrad(true));
  n.step(ams);
  const std::string msg = refused(ams, saved);
  CAPTURE(msg);
  CHECK(msg.find("'param.0.max_exp_avg_sq' is missing") != std::string::npos);
  CHECK(msg.find("amsgrad") != std::string::npos);
  CHECK(msg.find("nothing was loaded") != std::string::npos);
  // And the other way round: amsgrad state into a plain Adam names the extra buffer.
  m.step(plain);
  n.step(ams);
  CHECK(refused(plain, as_map(ams.state_dict())).find("unknown state 'max_exp_avg_sq'") != std::string::npos);
  // The refused optimizers still step with their own state.
  CHECK_NOTHROW(n.step(ams));
  for (float v : n.lin.parameters()[0].to_vector()) CHECK(std::isfinite(v));
}

TEST_CASE("negative or absurd step counts are refused (they would make the bias corrections NaN)") {
  Trained m;
  AdamW adamw(m.lin.parameters(), AdamWOptions(0.01));
  m.step(adamw);
  const State good = as_map(adamw.state_dict());
  for (int64_t bad : {int64_t{-1}, INT64_MAX, (int64_t{1} << 53) + 1, INT64_MIN}) {
    CAPTURE(bad);
    State s = good;
    s["param.1.step"] = int_scalar(bad);
    const std::string msg = refused(adamw, s);
    CAPTURE(msg);
    CHECK(msg.find("'param.1.step' is " + std::to_string(bad)) != std::string::npos);
    s = good;
    s["step"] = int_scalar(bad);
    CHECK(refused(adamw, s).find("'step' is " + std::to_string(bad)) != std::string::npos);
  }
  SGD sgd(m.lin.parameters(), SGDOptions(0.1).momentum(0.9));
  m.step(sgd);
  State s = as_map(sgd.state_dict());
  s["step"] = int_scalar(-1);
  CHECK(refused(sgd, s).find("'step' is -1") != std::string::npos);
  // The largest accepted count still gives finite parameters at the next step.
  s = good;
  s["param.0.step"] = int_scalar(int64_t{1} << 53);
  s["param.1.step"] = int_scalar(int64_t{1} << 53);
  adamw.load_state_dict(s);
  m.step(adamw);
  for (const Tensor& p : m.lin.parameters())
    for (float v : p.to_vector()) CHECK(std::isfinite(v));
}

TEST_CASE("parameter indices in keys must be canonical: param.00 and param.0 are not both accepted") {
  Trained m;
  SGD sgd(m.lin.parameters(), SGDOptions(0.1).momentum(0.9));
  m.step(sgd);
  const State good = as_map(sgd.state_dict());
  for (const char* key : {"param.00.momentum_buffer", "param.01.momentum_buffer", "param.+1.momentum_buffer",
                          "param.1 .momentum_buffer"}) {
    CAPTURE(key);
    State s = good;
    s[key] = good.at("param.1.momentum_buffer");
    CHECK(refused(sgd, s).find(std::string("unexpected key '") + key + "'") != std::string::npos);
  }
  CHECK_NOTHROW(sgd.load_state_dict(good));
}

TEST_CASE("non-finite state values and negative second moments are refused") {
  Trained m;
  Adam adam(m.lin.parameters(), AdamOptions(0.01).amsgrad(true));
  m.step(adam);
  const State good = as_map(adam.state_dict());
  struct Bad {
    const char* key;
    float value;
    const char* needle;
  };
  for (const Bad& b : {Bad{"param.0.exp_avg", NAN, "'param.0.exp_avg' holds nan at element 0"},
                       Bad{"param.1.exp_avg_sq", -1.f, "'param.1.exp_avg_sq' holds -1 at element 0"},
                       Bad{"param.0.max_exp_avg_sq", INFINITY, "'param.0.max_exp_avg_sq' holds inf"}}) {
    CAPTURE(b.key);
    State s = good;
    s[b.key] = clone_data(good.at(b.key));
    s[b.key].data<float>()[0] = b.value;
    CHECK(refused(adam, s).find(b.needle) != std::string::npos);
  }
}

TEST_CASE("a refused LRScheduler::load_state_dict or step leaves the epoch and the lr unchanged") {
  Trained m;
  SGD sgd(m.lin.parameters(), SGDOptions(0.1));
  StepLR sched(sgd, 1, 1e200);  // the lr grows by 1e200 per epoch: epoch 2 overflows to inf
  auto refused_load = [&](const State& s) {
    const int64_t epoch = sched.last_epoch();
    const double lr = sgd.lr(), last = sched.last_lr();
    std::string msg = "no error";
    try {
      sched.load_state_dict(s);
    } catch (const Error& e) {
      msg = e.what();
    }
    CHECK(sched.last_epoch() == epoch);
    CHECK(sgd.lr() == lr);
    CHECK(sched.last_lr() == last);
    return msg;
  };
  CHECK(refused_load({{"last_epoch", int_scalar(5)}}).find("gives the learning rate inf") !=
        std::string::npos);
  CHECK(refused_load({{"last_epoch", int_scalar(-1)}}).find("last_epoch -1 is out of range") !=
        std::string::npos);
  CHECK(refused_load({{"last_epoch", int_scalar(INT64_MAX)}}).find("out of range") != std::string::npos);
  CHECK(refused_load({{"last_epoch", int_scalar(1)}, {"extra", int_scalar(1)}}).find("unexpected keys") !=
        std::string::npos);
  sched.load_state_dict({{"last_epoch", int_scalar(1)}});
  CHECK(sched.last_epoch() == 1);
  CHECK(sgd.lr() == doctest::Approx(0.1 * 1e200));
  // step() to epoch 2 would set an infinite lr: refused, nothing changes.
  CHECK_THROWS_AS(sched.step(), Error);
  CHECK(sched.last_epoch() == 1);
  CHECK(sgd.lr() == doctest::Approx(0.1 * 1e200));
}
