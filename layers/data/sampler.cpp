// DistributedSampler: a shared per-epoch permutation, dealt out to the ranks round-robin.
#include "layers/data/sampler.h"

#include <numeric>

#include "core/error.h"
#include "core/random.h"
#include "layers/data/loader.h"

namespace convgrad::data {

DistributedSampler::DistributedSampler(DistributedSamplerOptions options) : options_(options) {
  CONVGRAD_CHECK(
      options_.num_replicas() >= 1 && options_.rank() >= 0 && options_.rank() < options_.num_replicas(),
      "DistributedSampler: rank {} of {} replicas; needs num_replicas >= 1 and 0 <= rank < num_replicas",
      options_.rank(), options_.num_replicas());
}

int64_t DistributedSampler::num_samples(int64_t dataset_size) const {
  const int64_t r = options_.num_replicas();
  return options_.drop_last() ? dataset_size / r : (dataset_size + r - 1) / r;
}

std::vector<int64_t> DistributedSampler::indices(int64_t dataset_size, int64_t epoch, uint64_t seed) const {
  CONVGRAD_CHECK(dataset_size >= 1, "DistributedSampler: the dataset is empty");
  std::vector<int64_t> order(static_cast<size_t>(dataset_size));
  std::iota(order.begin(), order.end(), 0);
  // The same draw as an unsharded shuffled DataLoader, so one seed gives one global order.
  if (options_.shuffle()) {
    Generator gen(sample_seed(seed, epoch, -1));
    for (int64_t i = dataset_size - 1; i > 0; --i)
      std::swap(order[static_cast<size_t>(i)], order[gen.randint(0, i + 1)]);
  }
  const int64_t per_rank = num_samples(dataset_size), r = options_.num_replicas();
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(per_rank));
  for (int64_t k = 0; k < per_rank; ++k)
    mine.push_back(order[static_cast<size_t>((k * r + options_.rank()) % dataset_size)]);
  return mine;
}

}  // namespace convgrad::data
