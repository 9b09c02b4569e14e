// libFuzzer target: the checkpoint loader (layers/checkpoint.h load) on a small model and its optimizer.
// Any file must either load or throw convgrad::Error, and a failed load must leave the model and the
// optimizer exactly as they were. A loaded model must still run forward, backward and an optimizer step.
//
// CONVGRAD_FUZZ_WRITE_SEEDS=<dir> writes valid checkpoints of this model to <dir> and exits: that is how
// tests/fuzz/corpus/checkpoint was made.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "core/factory.h"
#include "core/npy.h"
#include "layers/batchnorm.h"
#include "layers/checkpoint.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/optim.h"
#include "layers/sequential.h"
#include "fuzz_util.h"

using namespace convgrad;

namespace {

struct Target {
  Generator gen{1};
  std::shared_ptr<Sequential> model = std::make_shared<Sequential>(
      std::make_shared<Conv2d>(Conv2dOptions(2, 3, 3), gen), std::make_shared<BatchNorm2d>(BatchNorm2dOptions(3)),
      std::make_shared<Linear>(LinearOptions(4, 2), gen));
  SGD sgd{model->parameters(), SGDOptions(0.1).momentum(0.9)};
  Tensor x = randn({1, 2, 6, 6}, gen);

  void train_step() {
    sgd.zero_grad();
    sum(model->forward(x)).backward();
    sgd.step();
  }
  // Every byte of the module's and the optimizer's state.
  std::string snapshot() const {
    std::vector<std::pair<std::string, Tensor>> all = model->state_dict();
    for (auto& [name, t] : sgd.state_dict()) all.emplace_back(kOptimizerPrefix + name, t);
    return npz_bytes(all);
  }
};

Target& target() {
  static Target t;
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::write_seeds_if_asked([] {
    Target& t = target();
    std::vector<std::pair<std::string, std::string>> seeds{{"module_only.npz", npz_bytes(t.model->state_dict())}};
    t.train_step();
    t.train_step();
    std::vector<std::pair<std::string, Tensor>> all = t.model->state_dict();
    for (auto& [name, v] : t.sgd.state_dict()) all.emplace_back(kOptimizerPrefix + name, v);
    seeds.emplace_back("module_and_sgd.npz", npz_bytes(all));
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
    for (bool with_optimizer : {false, true}) {
      std::string before = t.snapshot();
      try {
        if (with_optimizer)
          load(*t.model, t.sgd, file.path());
        else
          load(*t.model, file.path());
      } catch (const Error&) {
        if (t.snapshot() != before) std::abort();  // a failed load changed the model or the optimizer
        continue;
      }
      t.train_step();  // the loaded state is usable (values may be anything, NaN included)
    }
  }
  return 0;
}
