// DistributedSampler: disjoint shards that cover the dataset, one shared order reshuffled per epoch,
// padding and drop_last as PyTorch, and its use through DataLoaderOptions::sampler. Needs no MPI: the
// ranks are simulated by one sampler per rank.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "layers/convgrad.h"

using namespace convgrad;
using namespace convgrad::data;

namespace {
std::vector<int64_t> shard(int64_t n, int64_t world, int64_t rank, int64_t epoch, bool drop_last = false) {
  return DistributedSampler(DistributedSamplerOptions(world, rank).drop_last(drop_last))
      .indices(n, epoch, 42);
}
}  // namespace

TEST_CASE("shards are disjoint, cover the dataset and follow the unsharded shuffle") {
  const int64_t n = 10;
  std::multiset<int64_t> all;
  for (int64_t r = 0; r < 2; ++r) {
    auto s = shard(n, 2, r, 0);
    CHECK(s.size() == 5);
    all.insert(s.begin(), s.end());
  }
  CHECK(all.size() == 10);
  CHECK(std::set<int64_t>(all.begin(), all.end()).size() == 10);
  // Rank r holds positions r, r + 2, ... of the order a shuffled DataLoader with the same seed uses.
  auto ds = std::make_shared<TensorDataset>(zeros({n, 1}));
  DataLoader loader(ds, DataLoaderOptions().batch_size(n).shuffle(true).seed(42));
  const std::vector<int64_t> global = loader.begin()->indices;
  const auto r1 = shard(n, 2, 1, 0);
  for (size_t k = 0; k < r1.size(); ++k) CHECK(r1[k] == global[2 * k + 1]);
}

TEST_CASE("a new order every epoch, the same for one seed") {
  CHECK(shard(20, 2, 0, 0) == shard(20, 2, 0, 0));
  CHECK(shard(20, 2, 0, 0) != shard(20, 2, 0, 1));
}

TEST_CASE("uneven sizes: padded from the start, or cut with drop_last") {
  std::set<int64_t> seen;
  for (int64_t r = 0; r < 3; ++r) {
    auto s = shard(7, 3, r, 0);
    CHECK(s.size() == 3);  // ceil(7 / 3), two indices repeated
    seen.insert(s.begin(), s.end());
  }
  CHECK(seen.size() == 7);
  CHECK(shard(7, 3, 2, 0, true).size() == 2);
}

TEST_CASE("DataLoader with a DistributedSampler loads the rank's shard in batches") {
  auto ds = std::make_shared<TensorDataset>(reshape(arange(0.0, 9.0, 1.0), {9, 1}));
  auto sampler = std::make_shared<DistributedSampler>(DistributedSamplerOptions(2, 1));
  DataLoader loader(ds, DataLoaderOptions().batch_size(2).sampler(sampler).seed(42));
  CHECK(loader.size() == 3);  // 5 samples per rank
  loader.set_epoch(3);
  std::vector<int64_t> got;
  for (Batch& b : loader) got.insert(got.end(), b.indices.begin(), b.indices.end());
  CHECK(got == sampler->indices(9, 3, 42));
  CHECK_THROWS_WITH_AS(DataLoader(ds, DataLoaderOptions().sampler(sampler).shuffle(true)),
                       doctest::Contains("shuffle(true) and a sampler"), Error);
  CHECK_THROWS_WITH_AS(DistributedSampler(DistributedSamplerOptions(2, 2)), doctest::Contains("rank 2 of 2"),
                       Error);
}
