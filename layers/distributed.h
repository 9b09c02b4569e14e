// Data-parallel training: DistributedDataParallel keeps one replica of a module per rank in step by
// averaging the gradients across ranks during backward (torch.nn.parallel.DistributedDataParallel).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/dist.h"
#include "layers/module.h"

namespace convgrad {

class Optimizer;  // layers/optim.h

/// Options of DistributedDataParallel: DistributedDataParallelOptions().bucket_cap_mb(25).
class DistributedDataParallelOptions {
 public:
  /// Gradients are all-reduced in buckets of about this many MiB (default 25, as PyTorch): a bucket is
  /// sent as soon as all its gradients are ready, while backward goes on computing the others.
  DistributedDataParallelOptions& bucket_cap_mb(double mb) {
    bucket_cap_mb_ = mb;
    return *this;
  }
  double bucket_cap_mb() const { return bucket_cap_mb_; }

 private:
  double bucket_cap_mb_ = 25.0;
};

/// Wraps `module` (registered as the child "module", so state_dict keys start with "module." as in
/// PyTorch). At construction every parameter and buffer is broadcast from rank 0. During each backward,
/// a hook on every parameter copies its gradient into a bucket once it was accumulated; a full bucket is
/// summed across ranks with a non-blocking all-reduce, buckets always started in the same order on every
/// rank; when the last gradient arrived, backward waits for all buckets and writes the mean over the ranks
/// back into each grad(). After backward() returns, the gradients are identical on every rank.
///
/// Rules (as PyTorch's defaults): every parameter must receive exactly one gradient per backward (a
/// parameter left out of the loss, or used twice in a forward, is reported as an error); buffers such as
/// BatchNorm's running statistics stay local per rank after the initial broadcast; the loss should be a
/// mean over the rank's local batch, so that the mean over ranks is the gradient of the global batch.
/// The all-reduce is not differentiable: a synchronising backward with create_graph is an error, while
/// grad() (as for a gradient penalty) runs no hook and is left alone.
class DistributedDataParallel : public Module {
 public:
  explicit DistributedDataParallel(std::shared_ptr<Module> module,
                                   DistributedDataParallelOptions options = {});
  ~DistributedDataParallel() override;

  /// module->forward(x); first checks that the previous backward's gradients were all synchronised.
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "DistributedDataParallel"; }
  /// The wrapped module.
  const std::shared_ptr<Module>& module() const { return module_; }

  /// While alive, backward accumulates gradients locally without communication (gradient accumulation);
  /// the first backward after it synchronises the accumulated sum.
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
    bool previous_;
  };
  /// A NoSync guard: `{ auto guard = ddp.no_sync(); loss.backward(); }`.
  [[nodiscard]] NoSync no_sync() { return NoSync(*this); }

  /// Number of gradient buckets and the parameter count of each (for tests and tuning).
  std::vector<int64_t> bucket_sizes() const;

  struct Reducer;

 private:
  std::shared_ptr<Module> module_;
  std::unique_ptr<Reducer> reducer_;
};

namespace dist {
/// Writes a checkpoint of `module` (and `optimizer`) on rank 0 only, atomically (convgrad::save), then
/// waits on every rank until it is written, so any rank may load it right after.
void save(const Module& module, const std::string& path);
void save(const Module& module, const Optimizer& optimizer, const std::string& path);
}  // namespace dist

}  // namespace convgrad
