// Optimizer base (parameters, state dict) and SGD.
#include "layers/optim.h"

#include <cmath>
#include <set>

#include "autograd/grad_mode.h"
#include "core/factory.h"

namespace convgrad {

Optimizer::Optimizer(std::vector<Tensor> params, double lr) : params_(std::move(params)) {
  CONVGRAD_CHECK(!params_.empty(), "Optimizer: the parameter list is empty; pass model.parameters()");
  std::set<const TensorImpl*> seen;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    CONVGRAD_CHECK(p.defined(), "Optimizer: parameter {} is undefined", i);
    CONVGRAD_CHECK(p.dtype() == DType::Float32, "Optimizer: parameter {} (shape {}) is {}, expected float32",
                   i, shape_str(p.shape()), dtype_name(p.dtype()));
    CONVGRAD_CHECK(p.is_leaf(),
                   "Optimizer: parameter {} (shape {}) is the result of an op; only leaves can be optimized "
                   "(pass the tensor you created, or x.detach())",
                   i, shape_str(p.shape()));
    CONVGRAD_CHECK(p.is_contiguous(),
                   "Optimizer: parameter {} (shape {}) is a non-contiguous view; optimizers update "
                   "contiguous tensors in place",
                   i, shape_str(p.shape()));
    CONVGRAD_CHECK(seen.insert(p.impl()).second,
                   "Optimizer: parameter {} (shape {}) appears twice in the list", i, shape_str(p.shape()));
  }
  state_.resize(params_.size());
  set_lr(lr);
}

void Optimizer::set_lr(double lr) {
  CONVGRAD_CHECK(std::isfinite(lr) && lr >= 0,
                 "Optimizer: invalid learning rate {} (expected a finite value >= 0)", lr);
  lr_ = lr;
}

void Optimizer::zero_grad(bool set_to_none) {
  for (const Tensor& p : params_) {
    if (set_to_none) {
      p.set_grad(Tensor());
    } else if (p.grad().defined()) {
      p.set_grad(zeros(p.shape()));
    }
  }
}

std::vector<size_t> Optimizer::params_with_grad(const char* op) const {
  std::vector<size_t> idx;
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].grad().defined()) idx.push_back(i);
  CONVGRAD_CHECK(!idx.empty(),
                 "{}: none of the {} parameters has a gradient; call loss.backward() before step() (and "
                 "zero_grad() before the next backward)",
                 op, params_.size());
  return idx;
}

Tensor Optimizer::grad_of(size_t i) const {
  Tensor g = params_[i].grad();
  CONVGRAD_CHECK(g.dtype() == DType::Float32 && g.shape() == params_[i].shape(),
                 "Optimizer: the gradient of parameter {} has shape {} ({}), expected {} (float32)", i,
                 shape_str(g.shape()), dtype_name(g.dtype()), shape_str(params_[i].shape()));
  return g.is_contiguous() ? g : clone_data(g);
}

std::vector<std::pair<std::string, Tensor>> Optimizer::state_dict() const {
  std::vector<std::pair<std::string, Tensor>> out;
  out.emplace_back("step", from_vector(std::vector<int64_t>{step_count_}, {}));
  for (size_t i = 0; i < params_.size(); ++i)
    for (const StateSpec& spec : state_specs()) {
      auto it = state_[i].find(spec.name);
      if (it != state_[i].end() && it->second.defined())
        out.emplace_back(fmt::format("param.{}.{}", i, spec.name), clone_data(it->second));
    }
  return out;
}

namespace {

// Step counts stay below 2^53: exact as doubles in the bias corrections, and far from int64 overflow.
constexpr int64_t kMaxSteps = int64_t{1} << 53;

// Why the float32 state `t` named `key` cannot be loaded, or "": every value finite, and the second
// moments (names ending in "_sq", squares) non-negative.
std::string bad_values(const std::string& key, const Tensor& t) {
  const bool square = key.ends_with("_sq");
  const std::vector<float> v = t.to_vector();
  for (size_t k = 0; k < v.size(); ++k)
    if (!std::isfinite(v[k]) || (square && v[k] < 0))
      return fmt::format("'{}' holds {} at element {}; expected finite{} values", key, v[k], k,
                         square ? " non-negative" : "");
  return "";
}

}  // namespace

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& state) {
  std::vector<std::string> problems;
  std::vector<std::map<std::string, Tensor>> fresh(params_.size());
  int64_t steps = 0;
  auto step_it = state.find("step");
  if (step_it == state.end()) {
    problems.push_back("'step' is missing");
  } else if (step_it->second.dtype() != DType::Int64 || step_it->second.numel() != 1) {
    problems.push_back(fmt::format("'step' must be one int64, got {} of shape {}",
                                   dtype_name(step_it->second.dtype()), shape_str(step_it->second.shape())));
  } else if (steps = step_it->second.item<int64_t>(); steps < 0 || steps > kMaxSteps) {
    problems.push_back(fmt::format("'step' is {}; expected a count of steps in 0..2^53", steps));
  }
  std::vector<StateSpec> specs = state_specs();
  for (const auto& [key, t] : state) {
    if (key == "step") continue;
    // "param.<i>.<name>"
    size_t dot = key.find('.', 6);
    std::string index = key.starts_with("param.") && dot != std::string::npos ? key.substr(6, dot - 6) : "";
    // Canonical decimal only ("0", "12"; not "00" or "012"), so two keys never name one parameter.
    bool numeric = !index.empty() && index.size() < 10 &&
                   index.find_first_not_of("0123456789") == std::string::npos &&
                   (index == "0" || index[0] != '0');
    size_t i = numeric ? std::stoul(index) : 0;
    if (!numeric || i >= params_.size()) {
      problems.push_back(
          fmt::format("unexpected key '{}' (this optimizer has {} parameters)", key, params_.size()));
      continue;
    }
    std::string name = key.substr(dot + 1);
    const StateSpec* spec = nullptr;
    for (const auto& s : specs) spec = s.name == name ? &s : spec;
    if (!spec) {
      problems.push_back(fmt::format("unexpected key '{}' (unknown state '{}')", key, name));
      continue;
    }
    Shape want = spec->scalar_int64 ? Shape{} : params_[i].shape();
    DType want_type = spec->scalar_int64 ? DType::Int64 : DType::Float32;
    if (t.dtype() != want_type || (spec->scalar_int64 ? t.numel() != 1 : t.shape() != want)) {
      problems.push_back(fmt::format("'{}' is {} of shape {}, expected {} of shape {}", key,
                                     dtype_name(t.dtype()), shape_str(t.shape()), dtype_name(want_type),
                                     shape_str(want)));
      continue;
    }
    if (spec->scalar_int64) {
      const int64_t count = t.item<int64_t>();
      if (count < 0 || count > kMaxSteps) {
        problems.push_back(fmt::format("'{}' is {}; expected a count of steps in 0..2^53", key, count));
        continue;
      }
      fresh[i][name] = from_vector(std::vector<int64_t>{count}, {});
    } else if (std::string why = bad_values(key, t); !why.empty()) {
      problems.push_back(why);
    } else {
      fresh[i][name] = clone_data(t);
    }
  }
  // A parameter has all of its buffers or none: a partial set (e.g. saved without amsgrad, loaded with
  // it) would fail or compute garbage at the next step().
  for (size_t i = 0; i < fresh.size(); ++i) {
    if (fresh[i].empty()) continue;
    for (const auto& s : specs)
      if (!fresh[i].count(s.name))
        problems.push_back(
            fmt::format("'param.{}.{}' is missing (the state of parameter {} must hold all "
                        "of this optimizer's buffers or none; was it saved with other "
                        "options, such as amsgrad?)",
                        i, s.name, i));
  }
  if (!problems.empty()) {
    std::string msg =
        fmt::format("Optimizer::load_state_dict: {} problem(s), nothing was loaded:", problems.size());
    for (const auto& p : problems) msg += "\n  " + p;
    fail("{}", msg);
  }
  state_ = std::move(fresh);
  step_count_ = steps;
}

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options)
    : Optimizer(std::move(params), options.lr()), options_(options) {
  const auto& o = options_;
  CONVGRAD_CHECK(o.momentum() >= 0, "SGD: invalid momentum {} (expected >= 0)", o.momentum());
  CONVGRAD_CHECK(o.weight_decay() >= 0, "SGD: invalid weight_decay {} (expected >= 0)", o.weight_decay());
  CONVGRAD_CHECK(
      !o.nesterov() || (o.momentum() > 0 && o.dampening() == 0),
      "SGD: nesterov momentum requires momentum > 0 and dampening 0 (got momentum {}, dampening {})",
      o.momentum(), o.dampening());
}

std::vector<Optimizer::StateSpec> SGD::state_specs() const { return {{"momentum_buffer", false}}; }

void SGD::step() {
  NoGradGuard guard;
  const auto& o = options_;
  // Scalars in float, as PyTorch applies them to float32 tensors; a + alpha * b is fused like ATen's add.
  const float wd = static_cast<float>(o.weight_decay()), mom = static_cast<float>(o.momentum());
  const float damp = static_cast<float>(1.0 - o.dampening()), neg_lr = static_cast<float>(-lr_);
  for (size_t i : params_with_grad("SGD::step")) {
    Tensor g = grad_of(i);
    params_[i].bump_version("SGD::step");
    float* p = params_[i].data<float>();
    const float* gp = g.data<float>();
    int64_t n = params_[i].numel();
    std::vector<float> d(gp, gp + n);
    if (o.maximize())
      for (auto& v : d) v = -v;
    if (o.weight_decay() != 0)
      for (int64_t k = 0; k < n; ++k) d[k] = std::fma(wd, p[k], d[k]);
    if (o.momentum() != 0) {
      Tensor& buf = state(i, "momentum_buffer");
      if (!buf.defined()) {
        buf = from_vector(d, params_[i].shape());
      } else {
        buf.bump_version("SGD::step");
        float* b = buf.data<float>();
        for (int64_t k = 0; k < n; ++k) b[k] = std::fma(damp, d[k], b[k] * mom);
      }
      const float* b = buf.data<float>();
      for (int64_t k = 0; k < n; ++k) d[k] = o.nesterov() ? std::fma(mom, b[k], d[k]) : b[k];
    }
    for (int64_t k = 0; k < n; ++k) p[k] = std::fma(neg_lr, d[k], p[k]);
  }
  ++step_count_;
}

}  // namespace convgrad
