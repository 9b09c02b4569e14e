// libFuzzer target: the checkpoint loader (layers/checkpoint.h load) on a small model with each optimizer
// (SGD with momentum, Adam with amsgrad, AdamW), and LRScheduler::load_state_dict on the "sched." entries
// of the same file (StepLR, CosineAnnealingLR). Any file must either load or throw convgrad::Error, and a
// failed load must leave the model, the optimizer and the scheduler exactly as they were. A loaded model
// must still run forward, backward and an optimizer step; a loaded schedule must still step.
//
// CONVGRAD_FUZZ_WRITE_SEEDS=<dir> writes valid checkpoints of this model to <dir> and exits: that is how
// tests/fuzz/corpus/checkpoint was made.
#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "core/factory.h"
#include "core/npy.h"
#include "fuzz_util.h"
#include "layers/batchnorm.h"
#include "layers/checkpoint.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/lr_scheduler.h"
#include "layers/optim.h"
#include "layers/sequential.h"

using namespace convgrad;

namespace {

struct Target {
  Generator gen{1};
  std::shared_ptr<Sequential> model =
      std::make_shared<Sequential>(std::make_shared<Conv2d>(Conv2dOptions(2, 3, 3), gen),
                                   std::make_shared<BatchNorm2d>(BatchNorm2dOptions(3)),
                                   std::make_shared<Linear>(LinearOptions(4, 2), gen));
  SGD sgd{model->parameters(), SGDOptions(0.1).momentum(0.9)};
  Adam adam{model->parameters(), AdamOptions(0.01).amsgrad(true)};
  AdamW adamw{model->parameters(), AdamWOptions(0.01)};
  StepLR step_lr{sgd, 2, 10.0};  // grows: a late enough epoch has an infinite lr, which must be refused
  CosineAnnealingLR cosine{adam, 10};
  Tensor x = randn({1, 2, 6, 6}, gen);

  std::vector<Optimizer*> optimizers() { return {&sgd, &adam, &adamw}; }
  std::vector<LRScheduler*> schedulers() { return {&step_lr, &cosine}; }

  void train_step(Optimizer& optimizer) {
    optimizer.zero_grad();
    sum(model->forward(x)).backward();
    optimizer.step();
  }
  // Every byte of the module's state and, when given, the optimizer's.
  std::string snapshot(const Optimizer* optimizer) const {
    std::vector<std::pair<std::string, Tensor>> all = model->state_dict();
    if (optimizer)
      for (auto& [name, t] : optimizer->state_dict()) all.emplace_back(kOptimizerPrefix + name, t);
    return npz_bytes(all) + fmt::format(" lr {}", optimizer ? optimizer->lr() : 0.0);
  }
};

// What a scheduler load may change: the epoch, its lr and the optimizer's.
std::string schedule_state(const LRScheduler& s, const Optimizer& o) {
  return fmt::format("{} {} {}", s.last_epoch(), s.last_lr(), o.lr());
}

constexpr const char* kSchedulerPrefix = "sched.";

Target& target() {
  static Target t;
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::write_seeds_if_asked([] {
    Target& t = target();
    std::vector<std::pair<std::string, std::string>> seeds{
        {"module_only.npz", npz_bytes(t.model->state_dict())}};
    const char* names[] = {"module_and_sgd.npz", "module_and_adam.npz", "module_and_adamw.npz"};
    for (size_t k = 0; k < 3; ++k) {
      Optimizer& o = *t.optimizers()[k];
      t.train_step(o);
      t.train_step(o);
      std::vector<std::pair<std::string, Tensor>> all = t.model->state_dict();
      for (auto& [name, v] : o.state_dict()) all.emplace_back(kOptimizerPrefix + name, v);
      if (k == 0) {  // with a schedule three epochs in
        for (int e = 0; e < 3; ++e) t.step_lr.step();
        for (auto& [name, v] : t.step_lr.state_dict()) all.emplace_back(kSchedulerPrefix + name, v);
      }
      seeds.emplace_back(names[k], npz_bytes(all));
    }
    return seeds;
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Target& t = target();
  std::string raw(reinterpret_cast<const char*>(data), size);
  std::string repaired = fuzz::repair_zip_crcs(raw);
  for (const std::string* bytes : {&raw, &repaired}) {
    if (bytes == &repaired && repaired == raw) break;
    fuzz::MemFile file(*bytes);
    std::vector<Optimizer*> with{nullptr};
    for (Optimizer* o : t.optimizers()) with.push_back(o);
    for (Optimizer* optimizer : with) {
      std::string before = t.snapshot(optimizer);
      try {
        if (optimizer)
          load(*t.model, *optimizer, file.path());
        else
          load(*t.model, file.path());
      } catch (const Error&) {
        if (t.snapshot(optimizer) != before) std::abort();  // a failed load changed the model or optimizer
        continue;
      }
      t.train_step(optimizer ? *optimizer : t.sgd);  // usable (values may be anything, NaN included)
    }
    // The scheduler entries ("sched.last_epoch"), given to each schedule.
    std::map<std::string, Tensor> entries, sched;
    try {
      entries = parse_npz(*bytes, "fuzz input");
    } catch (const Error&) {
      continue;
    }
    for (auto& [name, v] : entries)
      if (name.starts_with(kSchedulerPrefix)) sched[name.substr(std::strlen(kSchedulerPrefix))] = v;
    if (sched.empty()) continue;
    const Optimizer* scheduled[] = {&t.sgd, &t.adam};
    for (size_t k = 0; k < 2; ++k) {
      LRScheduler& s = *t.schedulers()[k];
      std::string before = schedule_state(s, *scheduled[k]);
      try {
        s.load_state_dict(sched);
      } catch (const Error&) {
        if (schedule_state(s, *scheduled[k]) != before) std::abort();  // a failed load changed the schedule
        continue;
      }
      before = schedule_state(s, *scheduled[k]);
      try {
        s.step();  // may refuse (an lr the optimizer cannot take), but then changes nothing
      } catch (const Error&) {
        if (schedule_state(s, *scheduled[k]) != before) std::abort();
      }
    }
  }
  return 0;
}
