// Samplers: which dataset indices a DataLoader visits in an epoch, and in what order
// (torch.utils.data.Sampler). DistributedSampler gives each rank of a data-parallel job its own shard.
#pragma once

#include <cstdint>
#include <vector>

namespace convgrad::data {

/// Chooses the indices of one epoch. Must be a pure function of its arguments: DataLoader workers may ask
/// for a later epoch's order ahead of time, from another thread.
class Sampler {
 public:
  virtual ~Sampler() = default;
  /// Number of indices per epoch over a dataset of `dataset_size` samples.
  virtual int64_t num_samples(int64_t dataset_size) const = 0;
  /// The indices of `epoch` (num_samples of them, each in [0, dataset_size)), `seed` being the loader's.
  virtual std::vector<int64_t> indices(int64_t dataset_size, int64_t epoch, uint64_t seed) const = 0;
};

/// Options of DistributedSampler: DistributedSamplerOptions(world_size, rank).shuffle(true).
class DistributedSamplerOptions {
 public:
  /// Shard `rank` of `num_replicas` (usually dist::world_size() and dist::rank()).
  DistributedSamplerOptions(int64_t num_replicas, int64_t rank) : num_replicas_(num_replicas), rank_(rank) {}
  int64_t num_replicas() const { return num_replicas_; }
  int64_t rank() const { return rank_; }
  /// A new order every epoch, the same on every rank (drawn from the loader's seed and the epoch); default
  /// true.
  DistributedSamplerOptions& shuffle(bool s) {
    shuffle_ = s;
    return *this;
  }
  bool shuffle() const { return shuffle_; }
  /// Drop the tail that does not divide evenly among the ranks instead of repeating samples from the
  /// start to fill it (default false, as PyTorch).
  DistributedSamplerOptions& drop_last(bool d) {
    drop_last_ = d;
    return *this;
  }
  bool drop_last() const { return drop_last_; }

 private:
  int64_t num_replicas_, rank_;
  bool shuffle_ = true, drop_last_ = false;
};

/// torch.utils.data.DistributedSampler: every epoch, one permutation of the dataset shared by all ranks
/// (from the loader's seed and the epoch, so DataLoader::set_epoch reshuffles), padded by repeating its
/// first indices to a multiple of num_replicas (or cut, with drop_last); rank r takes positions r,
/// r + num_replicas, ... The ranks' shards are disjoint (apart from the padding) and cover the dataset.
class DistributedSampler : public Sampler {
 public:
  explicit DistributedSampler(DistributedSamplerOptions options);
  int64_t num_samples(int64_t dataset_size) const override;
  std::vector<int64_t> indices(int64_t dataset_size, int64_t epoch, uint64_t seed) const override;
  const DistributedSamplerOptions& options() const { return options_; }

 private:
  DistributedSamplerOptions options_;
};

}  // namespace convgrad::data
