// DataLoader: the same seed gives the same batches whatever the number of workers, shuffles are
// permutations, drop_last, skipped samples, worker errors naming the sample, prefetch bounds, and a
// loader destroyed mid-epoch stopping its workers.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

#include "layers/convgrad.h"

using namespace convgrad;
using namespace convgrad::data;

namespace {

std::shared_ptr<TensorDataset> images(int64_t n, Transform t = nullptr) {
  Generator g(9);
  return std::make_shared<TensorDataset>(
      rand({n, 3, 12, 12}, g), arange(0.0, static_cast<double>(n), 1.0, DType::Int64), std::move(t));
}

struct Epochs {
  std::vector<std::vector<float>> inputs;
  std::vector<std::vector<int64_t>> labels, indices;
};

Epochs run(std::shared_ptr<const Dataset> ds, DataLoaderOptions o, int epochs) {
  DataLoader loader(std::move(ds), o);
  Epochs r;
  for (int e = 0; e < epochs; ++e)
    for (Batch& b : loader) {
      r.inputs.push_back(b.input.to_vector<float>());
      r.labels.push_back(b.label.to_vector<int64_t>());
      r.indices.push_back(b.indices);
    }
  return r;
}

// A dataset whose get() throws on chosen indices, skips others, sleeps, and records its threads.
class Probe : public Dataset {
 public:
  int64_t n = 20;
  // Atomic: a test changes it while the loader of the next epoch already has workers loading ahead.
  std::atomic<int64_t> fail_at{-1};
  std::set<int64_t> skip;
  int sleep_ms = 0;
  mutable std::atomic<int64_t> calls{0};
  mutable std::atomic<int> max_threads{0};
  int64_t size() const override { return n; }
  std::string describe(int64_t i) const override { return "probe/item-" + std::to_string(i) + ".png"; }
  Example get(int64_t i, Generator& gen) const override {
    ++calls;
    max_threads = std::max(max_threads.load(), get_num_threads());
    if (sleep_ms) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    if (i == fail_at) fail("cannot decode this one");
    if (skip.count(i)) throw SampleSkipped("skipped " + describe(i));
    Example ex;
    ex.input = full({1, 2, 2}, static_cast<double>(i) + gen.uniform());
    ex.label = i;
    return ex;
  }
};

// Waits (up to 10 s, a guard for a busy machine) until `count` reaches `at_least`, then a little more
// so that anything that would overshoot has had the time to.
void settle(const std::atomic<int64_t>& count, int64_t at_least) {
  for (int i = 0; i < 1000 && count.load() < at_least; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

}  // namespace

TEST_CASE("the same seed gives the same batches with 0, 1, 2 or 3 workers") {
  auto ds = images(23, Compose({RandomCrop(8), RandomDihedral(), RandomHorizontalFlip()}));
  auto opts = [](int64_t w) {
    return DataLoaderOptions().batch_size(4).shuffle(true).seed(1234).num_workers(w).prefetch_factor(2);
  };
  const Epochs ref = run(ds, opts(0), 3);
  REQUIRE(ref.inputs.size() == 18);  // 6 batches (the last of 3) per epoch
  for (int64_t w : {1, 2, 3}) {
    INFO("num_workers = " << w);
    const Epochs got = run(ds, opts(w), 3);
    CHECK(got.indices == ref.indices);
    CHECK(got.labels == ref.labels);
    CHECK(got.inputs == ref.inputs);  // bit for bit: each sample's stream depends on (seed, epoch, index)
  }
  // Another seed gives another order and other crops; epochs differ from each other.
  const Epochs other = run(ds, DataLoaderOptions().batch_size(4).shuffle(true).seed(99), 1);
  CHECK(other.indices != std::vector<std::vector<int64_t>>(ref.indices.begin(), ref.indices.begin() + 6));
  CHECK(std::vector<std::vector<int64_t>>(ref.indices.begin(), ref.indices.begin() + 6) !=
        std::vector<std::vector<int64_t>>(ref.indices.begin() + 6, ref.indices.begin() + 12));
  // Leaving an epoch early and choosing epochs out of order changes nothing either.
  DataLoader jumpy(ds, opts(2));
  jumpy.set_epoch(2);
  CHECK(jumpy.begin()->indices == ref.indices[12]);  // epoch 2's first batch, read alone
  jumpy.set_epoch(1);
  std::vector<std::vector<int64_t>> epoch1;
  for (Batch& b : jumpy) epoch1.push_back(b.indices);
  CHECK(epoch1 == std::vector<std::vector<int64_t>>(ref.indices.begin() + 6, ref.indices.begin() + 12));
  // Labels travel with their samples: TensorDataset's label i is sample i.
  for (size_t b = 0; b < ref.indices.size(); ++b) CHECK(ref.labels[b] == ref.indices[b]);
}

TEST_CASE("a shuffled epoch is a permutation; without shuffle the order is the index order") {
  auto ds = images(37);
  DataLoader loader(ds, DataLoaderOptions().batch_size(5).shuffle(true).seed(3).num_workers(2));
  CHECK(loader.size() == 8);
  for (int e = 0; e < 2; ++e) {
    std::vector<int64_t> seen;
    int64_t batches = 0;
    for (Batch& b : loader) {
      ++batches;
      CHECK(b.input.shape() == Shape{b.size(), 3, 12, 12});
      seen.insert(seen.end(), b.indices.begin(), b.indices.end());
    }
    CHECK(loader.epoch() == e);
    CHECK(batches == 8);
    std::vector<int64_t> sorted = seen, all(37);
    std::sort(sorted.begin(), sorted.end());
    std::iota(all.begin(), all.end(), 0);
    CHECK(sorted == all);
    CHECK(seen != all);  // 37! orders; the identity would mean no shuffle
  }
  DataLoader plain(ds, DataLoaderOptions().batch_size(10));
  std::vector<int64_t> order;
  for (Batch& b : plain) order.insert(order.end(), b.indices.begin(), b.indices.end());
  std::vector<int64_t> all(37);
  std::iota(all.begin(), all.end(), 0);
  CHECK(order == all);
  // A batch holds the samples' values: sample i's input is dataset input i.
  Generator g(0);
  DataLoader one(ds, DataLoaderOptions().batch_size(37));
  Batch b = *one.begin();
  CHECK(select(b.input, 0, 17).to_vector<float>() == ds->get(17, g).input.to_vector<float>());
}

TEST_CASE("drop_last leaves out the short last batch") {
  auto ds = images(10);
  for (int64_t w : {0, 2}) {
    std::vector<int64_t> keep, drop;
    DataLoader a(ds, DataLoaderOptions().batch_size(4).num_workers(w));
    DataLoader b(ds, DataLoaderOptions().batch_size(4).num_workers(w).drop_last(true));
    for (Batch& x : a) keep.push_back(x.size());
    for (Batch& x : b) drop.push_back(x.size());
    CHECK(keep == std::vector<int64_t>{4, 4, 2});
    CHECK(drop == std::vector<int64_t>{4, 4});
    CHECK(a.size() == 3);
    CHECK(b.size() == 2);
  }
}

TEST_CASE("skipped samples shrink their batch; an all-skipped epoch is an error") {
  auto p = std::make_shared<Probe>();
  p->n = 10;
  p->skip = {1, 2, 3, 6};
  for (int64_t w : {0, 2}) {
    DataLoader loader(p, DataLoaderOptions().batch_size(4).num_workers(w));
    std::vector<std::vector<int64_t>> got;
    for (Batch& b : loader) {
      got.push_back(b.indices);
      CHECK(b.label.to_vector<int64_t>() == b.indices);
    }
    CHECK(got == std::vector<std::vector<int64_t>>{{0}, {4, 5, 7}, {8, 9}});
  }
  p->skip = {0, 1, 2, 3};
  p->n = 4;
  DataLoader all(p, DataLoaderOptions().batch_size(2).num_workers(1));
  CHECK_THROWS_WITH_AS(all.begin(), doctest::Contains("every sample of epoch 0 was skipped"), Error);
}

TEST_CASE("a worker's exception reaches the consumer naming the sample") {
  auto p = std::make_shared<Probe>();
  p->fail_at = 13;
  for (int64_t w : {0, 1, 3}) {
    INFO("num_workers = " << w);
    DataLoader loader(p, DataLoaderOptions().batch_size(4).num_workers(w));
    int64_t batches = 0;
    std::string message;
    try {
      for (Batch& b : loader) {
        (void)b;
        ++batches;
      }
    } catch (const Error& e) {
      message = e.what();
    }
    CHECK(batches == 3);  // batches 0-2 arrive; batch 3 holds sample 13
    CHECK(message.find("sample 13 (batch 3 of epoch 0)") != std::string::npos);
    CHECK(message.find("probe/item-13.png") != std::string::npos);
    CHECK(message.find("cannot decode this one") != std::string::npos);
    // The loader stays usable: the next epoch starts again from its first batch.
    p->fail_at = -1;
    CHECK(loader.begin()->indices == std::vector<int64_t>{0, 1, 2, 3});
    CHECK(loader.epoch() == 1);
    p->fail_at = 13;
  }
}

TEST_CASE("workers run their kernels on one thread and load at most the prefetch window ahead") {
  set_num_threads(2);
  auto p = std::make_shared<Probe>();
  p->n = 200;
  p->sleep_ms = 2;
  {
    DataLoader loader(p, DataLoaderOptions().batch_size(2).num_workers(2).prefetch_factor(2));
    auto it = loader.begin();
    REQUIRE(it->size() == 2);
    settle(p->calls, 10);
    // Batch 0 taken, so batches 1..4 (window 2 workers x 2) may be loaded: 10 samples at most.
    CHECK(p->calls.load() <= 10);
    CHECK(p->calls.load() >= 6);  // and they were: the workers run ahead
    // A plain new thread sees the process-wide 2; the workers hold their own 1.
    int plain = 0;
    std::thread([&] { plain = get_num_threads(); }).join();
    CHECK(plain == 2);
    CHECK(p->max_threads.load() == 1);
  }
  CHECK(get_num_threads() == 2);  // the consumer's setting is its own
  // Without workers the consumer's thread loads on one kernel thread, then gets its setting back.
  auto q = std::make_shared<Probe>();
  DataLoader inline_loader(q, DataLoaderOptions().batch_size(4));
  int64_t n = 0;
  for (Batch& b : inline_loader) {
    n += b.size();
    CHECK(get_num_threads() == 2);
  }
  CHECK(n == 20);
  CHECK(q->max_threads.load() == 1);
  set_num_threads(1);
}

TEST_CASE("workers load the next epoch's first batches while the consumer finishes this one") {
  auto p = std::make_shared<Probe>();
  p->n = 3;
  DataLoader loader(p, DataLoaderOptions().batch_size(2).num_workers(2).prefetch_factor(2));
  int64_t batches = 0;
  for (Batch& b : loader) batches += b.size() > 0;
  CHECK(batches == 2);
  settle(p->calls, 9);
  CHECK(p->calls.load() == 9);  // epoch 0 (3 samples), then a window of 4 batches: 3 + 3 + 3
  for (int e = 1; e < 4; ++e) {
    std::vector<int64_t> seen;
    for (Batch& b : loader) seen.insert(seen.end(), b.indices.begin(), b.indices.end());
    CHECK(seen == std::vector<int64_t>{0, 1, 2});
  }
}

TEST_CASE("destroying the loader mid-epoch stops and joins its workers") {
  auto p = std::make_shared<Probe>();
  p->n = 1000;
  p->sleep_ms = 5;
  {
    DataLoader loader(p, DataLoaderOptions().batch_size(4).num_workers(3).shuffle(true));
    auto it = loader.begin();
    ++it;
    CHECK(it->size() == 4);
  }  // destroyed with most of the epoch unread
  const int64_t calls = p->calls.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(p->calls.load() == calls);  // nothing runs after the destructor returned
  CHECK(calls < 60);                // far from the 1000 samples of the epoch (ctest's timeout guards a hang)
  // Starting a new epoch mid-epoch also stops the old workers first.
  DataLoader loader(p, DataLoaderOptions().batch_size(4).num_workers(2));
  for (int e = 0; e < 3; ++e) CHECK(loader.begin()->indices == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(loader.epoch() == 2);
}

TEST_CASE("sample_seed separates seeds, epochs and indices; collate checks shapes") {
  std::set<uint64_t> seeds;
  for (uint64_t s = 0; s < 3; ++s)
    for (int64_t e = 0; e < 3; ++e)
      for (int64_t i = 0; i < 50; ++i) seeds.insert(sample_seed(s, e, i));
  CHECK(seeds.size() == 450);
  Example a, b;
  a.input = zeros({1, 2, 2});
  b.input = zeros({1, 3, 2});
  b.path = "odd.png";
  CHECK_THROWS_WITH_AS(collate({a, b}), doctest::Contains("odd.png has input float32 [1, 3, 2]"), Error);
  b.input = ones({1, 2, 2});
  b.target = ones({1, 4, 4});
  CHECK_THROWS_AS(collate({a, b}), Error);  // a target on one sample only
  a.target = zeros({1, 4, 4});
  Batch batch = collate({a, b});
  CHECK(batch.input.shape() == Shape{2, 1, 2, 2});
  CHECK(batch.target.shape() == Shape{2, 1, 4, 4});
  CHECK(batch.target.to_vector<float>() == std::vector<float>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                              0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
                                                              1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  CHECK(batch.label.to_vector<int64_t>() == std::vector<int64_t>{-1, -1});
  CHECK_THROWS_AS(DataLoader(nullptr), Error);
  CHECK_THROWS_AS(DataLoader(images(3), DataLoaderOptions().batch_size(0)), Error);
}
