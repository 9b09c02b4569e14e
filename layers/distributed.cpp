// DistributedDataParallel's reducer: gradients copied into buckets as backward accumulates them, each
// bucket all-reduced as soon as it is full, the mean written back when the last one arrived.
#include "layers/distributed.h"

#include <algorithm>
#include <cstring>

#include "autograd/node.h"
#include "core/error.h"
#include "layers/checkpoint.h"

namespace convgrad {

// One bucket: a flat buffer holding the gradients of some parameters back to back.
struct Bucket {
  std::vector<size_t> params;  // indices into Reducer::params
  std::vector<float> buffer;
  int64_t pending = 0;  // parameters of this iteration still to arrive
  dist::Work work;
};

struct DistributedDataParallel::Reducer {
  NamedTensors params;
  std::vector<int64_t> handles;   // post-accumulate hook per parameter
  std::vector<size_t> bucket_of;  // per parameter
  std::vector<int64_t> offset;    // per parameter, in its bucket's buffer
  std::vector<bool> ready;        // per parameter, this iteration
  std::vector<Bucket> buckets;
  size_t next_launch = 0;  // buckets are started in index order on every rank
  int64_t arrived = 0;     // parameters ready this iteration
  bool no_sync = false;

  void reset() {
    std::fill(ready.begin(), ready.end(), false);
    for (auto& b : buckets) b.pending = static_cast<int64_t>(b.params.size());
    next_launch = 0;
    arrived = 0;
  }

  void on_gradient(size_t i) {
    if (no_sync || dist::world_size() == 1) return;
    const Tensor& p = params[i].second;
    CONVGRAD_CHECK(
        !ready[i],
        "DistributedDataParallel: parameter '{}' received a second gradient in one backward (it is used "
        "twice "
        "in forward); its bucket may already be sent, so weight sharing inside one forward is not supported",
        params[i].first);
    const Tensor g = p.grad();
    if (g.requires_grad()) {
      abandon();
      fail(
          "DistributedDataParallel: backward(create_graph=true) reached parameter '{}'; the gradient "
          "all-reduce is not differentiable, so the averaged gradient would carry a wrong history. Take "
          "higher-order terms with grad() (which DDP leaves alone), or call backward without create_graph "
          "(or inside no_sync())",
          params[i].first);
    }
    ready[i] = true;
    ++arrived;
    Bucket& b = buckets[bucket_of[i]];
    std::memcpy(b.buffer.data() + offset[i], g.data<float>(), static_cast<size_t>(g.numel()) * sizeof(float));
    --b.pending;
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) {
      Bucket& next = buckets[next_launch++];
      next.work = dist::all_reduce_sum_async(next.buffer.data(), static_cast<int64_t>(next.buffer.size()),
                                             "DistributedDataParallel gradient all-reduce");
    }
    // MPI advances the buckets in flight only when called: a test per gradient keeps them moving
    // while backward computes the rest.
    for (size_t k = 0; k < next_launch; ++k) buckets[k].work.test();
    if (arrived == static_cast<int64_t>(params.size())) finish();
  }

  // Waits for the buckets already started (the other ranks match them) and forgets this iteration.
  void abandon() {
    for (size_t b = 0; b < next_launch; ++b) buckets[b].work.wait();
    reset();
  }

  // Waits for every bucket and writes the mean over the ranks into each parameter's gradient.
  void finish() {
    const float world = static_cast<float>(dist::world_size());
    for (auto& b : buckets) {
      b.work.wait();
      for (size_t i : b.params) {
        Tensor g = params[i].second.grad();
        float* dst = g.data<float>();
        const float* src = b.buffer.data() + offset[i];
        for (int64_t k = 0; k < g.numel(); ++k) dst[k] = src[k] / world;
        g.bump_version("DistributedDataParallel");
      }
    }
    reset();
  }
};

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<Module> module,
                                                 DistributedDataParallelOptions options)
    : module_(register_module("module", std::move(module))), reducer_(std::make_unique<Reducer>()) {
  CONVGRAD_CHECK(options.bucket_cap_mb() > 0,
                 "DistributedDataParallel: bucket_cap_mb is {}; it must be positive",
                 options.bucket_cap_mb());
  Reducer& r = *reducer_;
  r.params = module_->named_parameters();
  for (const auto& [name, p] : r.params)
    CONVGRAD_CHECK(p.dtype() == DType::Float32 && p.is_contiguous(),
                   "DistributedDataParallel: parameter '{}' of shape {} is not contiguous float32", name,
                   shape_str(p.shape()));
  // Every rank starts from rank 0's values (the same names in the same order on every rank).
  for (const auto& [name, t] : module_->state_dict()) dist::broadcast(t, 0);
  // Buckets follow the reverse of registration order, roughly the order backward produces gradients.
  const auto cap = static_cast<int64_t>(options.bucket_cap_mb() * 1024 * 1024 / sizeof(float));
  r.bucket_of.resize(r.params.size());
  r.offset.resize(r.params.size());
  r.ready.resize(r.params.size());
  for (size_t k = r.params.size(); k-- > 0;) {
    const int64_t n = r.params[k].second.numel();
    if (r.buckets.empty() ||
        (!r.buckets.back().buffer.empty() && static_cast<int64_t>(r.buckets.back().buffer.size()) + n > cap))
      r.buckets.emplace_back();
    Bucket& b = r.buckets.back();
    r.bucket_of[k] = r.buckets.size() - 1;
    r.offset[k] = static_cast<int64_t>(b.buffer.size());
    b.params.push_back(k);
    b.buffer.resize(b.buffer.size() + static_cast<size_t>(n));
  }
  r.reset();
  Reducer* rp = reducer_.get();
  for (size_t k = 0; k < r.params.size(); ++k)
    r.handles.push_back(register_post_accumulate_grad_hook(r.params[k].second,
                                                           [rp, k](const Tensor&) { rp->on_gradient(k); }));
}

DistributedDataParallel::~DistributedDataParallel() {
  for (size_t k = 0; k < reducer_->params.size(); ++k)
    remove_post_accumulate_grad_hook(reducer_->params[k].second, reducer_->handles[k]);
}

Tensor DistributedDataParallel::forward(const Tensor& x) {
  Reducer& r = *reducer_;
  if (r.arrived > 0 && !r.no_sync) {
    std::string missing;
    for (size_t k = 0; k < r.params.size(); ++k)
      if (!r.ready[k]) missing += (missing.empty() ? "" : ", ") + r.params[k].first;
    r.abandon();
    fail(
        "DistributedDataParallel: the last backward gave no gradient to {}; every parameter must take part "
        "in the loss on every rank (unused parameters are not supported)",
        missing);
  }
  return module_->forward(x);
}

std::vector<int64_t> DistributedDataParallel::bucket_sizes() const {
  std::vector<int64_t> sizes;
  for (const auto& b : reducer_->buckets) sizes.push_back(static_cast<int64_t>(b.params.size()));
  return sizes;
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& ddp)
    : ddp_(ddp), previous_(ddp.reducer_->no_sync) {
  ddp_.reducer_->no_sync = true;
}

DistributedDataParallel::NoSync::~NoSync() { ddp_.reducer_->no_sync = previous_; }

namespace dist {

void save(const Module& module, const std::string& path) {
  if (rank() == 0) convgrad::save(module, path);
  barrier();
}

void save(const Module& module, const Optimizer& optimizer, const std::string& path) {
  if (rank() == 0) convgrad::save(module, optimizer, path);
  barrier();
}

}  // namespace dist

}  // namespace convgrad
