// Optimizers and LR schedules against PyTorch 1.13 goldens (tools/gen_train_goldens.py), state-dict
// round trips that continue identically, and the errors.
#include <doctest/doctest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>

#include "core/factory.h"
#include "core/npy.h"
#include "layers/lr_scheduler.h"
#include "layers/optim.h"

using namespace convgrad;

namespace {
using Golden = std::map<std::string, Tensor>;
using Factory = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;

Golden golden(const std::string& name) {
  return load_npz(std::string(CONVGRAD_TEST_DATA) + "/train/" + name + ".npz");
}

// The configurations of tools/gen_train_goldens.py, in C++.
const std::vector<std::pair<std::string, Factory>>& configs() {
  static const std::vector<std::pair<std::string, Factory>> all{
      {"sgd", [](auto ps) { return std::make_unique<SGD>(ps, SGDOptions(0.1)); }},
      {"sgd_momentum",
       [](auto ps) {
         return std::make_unique<SGD>(ps, SGDOptions(0.05).momentum(0.9).dampening(0.1).weight_decay(1e-2));
       }},
      {"sgd_nesterov",
       [](auto ps) {
         return std::make_unique<SGD>(ps, SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-3));
       }},
      {"adam", [](auto ps) { return std::make_unique<Adam>(ps, AdamOptions(1e-2)); }},
      {"adam_wd_amsgrad",
       [](auto ps) {
         auto o = AdamOptions(5e-3).betas(0.8, 0.99).eps(1e-6).weight_decay(0.1).amsgrad(true);
         return std::make_unique<Adam>(ps, o);
       }},
      {"adamw", [](auto ps) { return std::make_unique<AdamW>(ps, AdamWOptions(1e-2).weight_decay(0.05)); }},
      {"adamw_amsgrad",
       [](auto ps) { return std::make_unique<AdamW>(ps, AdamWOptions(2e-2).betas(0.5, 0.9).amsgrad(true)); }},
  };
  return all;
}

// The gradient of the golden's quadratic bowl, g = c * p + b, in float32 like PyTorch computes it.
void set_bowl_grads(const std::vector<Tensor>& ps, const Golden& g) {
  for (int k = 0; k < 2; ++k) {
    std::string key = "p" + std::to_string(k);
    auto c = g.at("c_" + key).to_vector(), b = g.at("b_" + key).to_vector(), p = ps[k].to_vector();
    std::vector<float> grad(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      float cp = c[i] * p[i];
      grad[i] = cp + b[i];
    }
    ps[k].set_grad(from_vector(grad, ps[k].shape()));
  }
}

std::vector<Tensor> initial_params(const Golden& g) {
  std::vector<Tensor> ps;
  for (const char* k : {"init_p0", "init_p1", "init_p2"}) {
    ps.push_back(clone_data(g.at(k)));
    ps.back().set_requires_grad();
  }
  return ps;
}

void check_close(const std::vector<float>& got, const std::vector<float>& want, const std::string& what,
                 double rtol = 2e-6, double atol = 1e-7) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i)
    CHECK_MESSAGE(std::abs(got[i] - want[i]) <= atol + rtol * std::abs(want[i]), what, "[", i, "]: ", got[i],
                  " != ", want[i]);
}

std::vector<float> row(const Tensor& stacked, int64_t step) {
  auto all = stacked.to_vector();
  int64_t n = stacked.numel() / stacked.size(0);
  return std::vector<float>(all.begin() + step * n, all.begin() + (step + 1) * n);
}
}  // namespace

TEST_CASE("SGD, Adam and AdamW follow PyTorch step by step") {
  for (const auto& [name, make] : configs()) {
    CAPTURE(name);
    Golden g = golden("optim_" + name);
    std::vector<Tensor> ps = initial_params(g);
    auto p2_before = ps[2].to_vector();
    auto opt = make(ps);
    int64_t steps = g.at("p0_steps").size(0);
    for (int64_t s = 0; s < steps; ++s) {
      opt->zero_grad();
      set_bowl_grads(ps, g);
      opt->step();
      check_close(ps[0].to_vector(), row(g.at("p0_steps"), s), name + " p0 step " + std::to_string(s + 1));
      check_close(ps[1].to_vector(), row(g.at("p1_steps"), s), name + " p1 step " + std::to_string(s + 1));
    }
    CHECK(ps[2].to_vector() == p2_before);  // no gradient: untouched, and no state
    CHECK(opt->step_count() == steps);
    std::map<std::string, Tensor> sd;
    for (auto& [k, v] : opt->state_dict()) sd[k] = v;
    for (const auto& [k, v] : g) {
      if (!k.starts_with("state_")) continue;
      std::string key = "param.0." + k.substr(6);
      REQUIRE_MESSAGE(sd.count(key), key);
      check_close(sd.at(key).to_vector(), v.to_vector(), name + " " + key, 2e-5, 1e-7);
    }
    for (const auto& [k, v] : sd) CHECK_MESSAGE(!k.starts_with("param.2."), k);
    if (name.starts_with("adam")) CHECK(sd.at("param.1.step").item<int64_t>() == steps);
  }
}

TEST_CASE("a state_dict saved to .npz and loaded continues identically") {
  for (const auto& [name, make] : configs()) {
    CAPTURE(name);
    Golden g = golden("optim_" + name);
    std::vector<Tensor> a = initial_params(g);
    auto opt_a = make(a);
    for (int s = 0; s < 3; ++s) {
      set_bowl_grads(a, g);
      opt_a->step();
    }
    std::string path =
        (std::filesystem::temp_directory_path() / ("convgrad_optim_" + std::to_string(::getpid()) + ".npz"))
            .string();
    save_npz(path, opt_a->state_dict());
    std::vector<Tensor> b;
    for (const Tensor& t : a) b.push_back(clone_data(t).set_requires_grad());
    auto opt_b = make(b);
    opt_b->load_state_dict(load_npz(path));
    std::filesystem::remove(path);
    CHECK(opt_b->step_count() == 3);
    for (int s = 0; s < 3; ++s) {
      set_bowl_grads(a, g);
      set_bowl_grads(b, g);
      opt_a->step();
      opt_b->step();
    }
    for (int k = 0; k < 3; ++k) CHECK(a[k].to_vector() == b[k].to_vector());  // bit-identical
  }
}

TEST_CASE("load_state_dict reports every problem at once and changes nothing") {
  Tensor w = zeros({2, 3}).set_requires_grad(), bias = zeros({3}).set_requires_grad();
  Adam opt({w, bias}, AdamOptions(0.1));
  w.set_grad(ones({2, 3}));
  opt.step();
  std::map<std::string, Tensor> bad{{"param.0.exp_avg", zeros({3, 2})},
                                    {"param.5.exp_avg", zeros({3})},
                                    {"param.1.velocity", zeros({3})},
                                    {"param.1.step", zeros({})}};
  try {
    opt.load_state_dict(bad);
    FAIL("no error");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find("5 problem(s)") != std::string::npos);
    CHECK(msg.find("'step' is missing") != std::string::npos);
    CHECK(msg.find("'param.0.exp_avg' is float32 of shape [3, 2], expected float32 of shape [2, 3]") !=
          std::string::npos);
    CHECK(msg.find("unexpected key 'param.5.exp_avg' (this optimizer has 2 parameters)") !=
          std::string::npos);
    CHECK(msg.find("unknown state 'velocity'") != std::string::npos);
    CHECK(msg.find("'param.1.step' is float32") != std::string::npos);
  }
  CHECK(opt.step_count() == 1);
  CHECK(opt.state_dict().size() == 4);  // step + param.0.{step, exp_avg, exp_avg_sq}
}

TEST_CASE("optimizer errors and zero_grad") {
  Tensor w = full({2}, 1.0).set_requires_grad(), v = full({2}, 2.0).set_requires_grad();
  SGD opt({w, v}, SGDOptions(0.5));
  CHECK_THROWS_WITH_AS(opt.step(), doctest::Contains("call loss.backward() before step()"), Error);
  w.set_grad(full({2}, 4.0));
  opt.step();
  CHECK(w.to_vector() == std::vector<float>{-1.f, -1.f});  // 1 - 0.5 * 4
  CHECK(v.to_vector() == std::vector<float>{2.f, 2.f});    // no grad: skipped
  opt.zero_grad(false);
  CHECK(w.grad().to_vector() == std::vector<float>{0.f, 0.f});
  CHECK(!v.grad().defined());
  opt.zero_grad();
  CHECK(!w.grad().defined());
  CHECK_THROWS_WITH_AS(SGD({w}, SGDOptions(0.1).nesterov(true)),
                       doctest::Contains("nesterov momentum requires"), Error);
  CHECK_THROWS_WITH_AS(SGD({w, w}, SGDOptions(0.1)), doctest::Contains("appears twice"), Error);
  CHECK_THROWS_WITH_AS(SGD({}, SGDOptions(0.1)), doctest::Contains("parameter list is empty"), Error);
  CHECK_THROWS_WITH_AS(Adam({w}, AdamOptions(-1)), doctest::Contains("invalid learning rate -1"), Error);
  CHECK_THROWS_WITH_AS(Adam({w}, AdamOptions().betas(0.9, 1.0)), doctest::Contains("invalid betas"), Error);
  CHECK_THROWS_WITH_AS(SGD({zeros({2}, DType::Int64)}, SGDOptions(0.1)),
                       doctest::Contains("expected float32"), Error);
  Tensor base = zeros({2, 2});
  CHECK_THROWS_WITH_AS(SGD({as_strided(base, {2}, {2}, 0)}, SGDOptions(0.1)),
                       doctest::Contains("non-contiguous"), Error);
  CHECK(AdamWOptions().weight_decay() == 0.01);
  CHECK(AdamOptions().weight_decay() == 0.0);
}

TEST_CASE("StepLR and CosineAnnealingLR give PyTorch's learning rates") {
  Golden g = golden("schedules");
  // PyTorch's float64 values, stored as their int64 bit patterns.
  auto expected = [&](const std::string& key) {
    std::vector<double> out;
    for (int64_t bits : g.at(key).to_vector<int64_t>()) out.push_back(std::bit_cast<double>(bits));
    return out;
  };
  struct Case {
    std::string key;
    std::function<std::unique_ptr<LRScheduler>(Optimizer&)> make;
  };
  std::vector<Case> cases{
      {"step_3_half", [](Optimizer& o) { return std::make_unique<StepLR>(o, 3, 0.5); }},
      {"step_1_default", [](Optimizer& o) { return std::make_unique<StepLR>(o, 1); }},
      {"cosine_5_min", [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 5, 1e-3); }},
      {"cosine_4", [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 4); }},
  };
  for (const auto& c : cases) {
    CAPTURE(c.key);
    Tensor p = zeros({1}).set_requires_grad();
    SGD opt({p}, SGDOptions(0.1));
    auto sched = c.make(opt);
    auto want = expected(c.key);
    for (size_t e = 0; e < want.size(); ++e) {
      if (e > 0) sched->step();
      CHECK(sched->last_epoch() == static_cast<int64_t>(e));
      CHECK(opt.lr() == doctest::Approx(want[e]).epsilon(1e-12));
      CHECK(sched->last_lr() == opt.lr());
    }
    // Resume: a new scheduler loaded with the state continues exactly.
    Tensor q = zeros({1}).set_requires_grad();
    SGD opt2({q}, SGDOptions(0.1));
    auto sched2 = c.make(opt2);
    std::map<std::string, Tensor> st;
    for (auto& [k, v] : sched->state_dict()) st[k] = v;
    sched2->load_state_dict(st);
    CHECK(opt2.lr() == opt.lr());
    sched->step();
    sched2->step();
    CHECK(opt2.lr() == opt.lr());
  }
  Tensor p = zeros({1}).set_requires_grad();
  SGD opt({p}, SGDOptions(0.1));
  CHECK_THROWS_WITH_AS(StepLR(opt, 0), doctest::Contains("step_size must be positive"), Error);
  CHECK_THROWS_WITH_AS(CosineAnnealingLR(opt, 0), doctest::Contains("T_max must be positive"), Error);
}
