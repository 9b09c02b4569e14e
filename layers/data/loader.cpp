#include "layers/data/loader.h"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <new>
#include <numeric>
#include <thread>

#include "autograd/grad_mode.h"
#include "core/threading.h"

namespace convgrad::data {

/// One epoch's plan and the workers filling it.
struct DataLoader::Epoch {
  struct Result {
    std::optional<Batch> batch;  // nullopt: every sample of the batch was skipped
    std::exception_ptr error;
  };
  std::vector<std::vector<int64_t>> plan;  // dataset indices of each batch
  int64_t number = 0;
  std::mutex mutex;
  std::condition_variable work_cv, ready_cv;
  int64_t next_issue = 0, next_deliver = 0;  // guarded by mutex
  std::map<int64_t, Result> results;         // guarded by mutex
  std::atomic<bool> stop{false};
  std::atomic<int64_t> delivered_samples{0}, skipped_samples{0};
  std::vector<std::thread> workers;
};

namespace {

DataLoader::Epoch::Result load_batch(const Dataset& dataset, DataLoader::Epoch& epoch, uint64_t seed, int64_t b) {
  DataLoader::Epoch::Result r;
  std::vector<Example> examples;
  std::vector<int64_t> indices;
  int64_t index = -1;
  try {
    for (int64_t i : epoch.plan[static_cast<size_t>(b)]) {
      if (epoch.stop) return r;
      index = i;
      Generator gen(sample_seed(seed, epoch.number, i));
      try {
        examples.push_back(dataset.get(i, gen));
        indices.push_back(i);
      } catch (const SampleSkipped&) {
        ++epoch.skipped_samples;
      }
    }
    index = -1;
    if (examples.empty()) return r;
    r.batch = collate(examples);
    r.batch->indices = std::move(indices);
  } catch (const std::bad_alloc&) {
    r.error = std::current_exception();
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (index >= 0) {
      const std::string name = dataset.describe(index);
      if (what.find(name) == std::string::npos) what = name + ": " + what;
      what = fmt::format("DataLoader: sample {} (batch {} of epoch {}): {}", index, b, epoch.number, what);
    } else {
      what = fmt::format("DataLoader: batch {} of epoch {}: {}", b, epoch.number, what);
    }
    r.error = std::make_exception_ptr(Error(what));
  }
  return r;
}

void worker_loop(const Dataset& dataset, DataLoader::Epoch& epoch, uint64_t seed, int64_t window) {
  // Workers decode and augment with one kernel thread each, leaving the cores to the training step.
  set_num_threads(1);
  NoGradGuard no_grad;
  const auto batches = static_cast<int64_t>(epoch.plan.size());
  for (;;) {
    int64_t b = 0;
    {
      std::unique_lock<std::mutex> lock(epoch.mutex);
      epoch.work_cv.wait(lock, [&] {
        return epoch.stop || epoch.next_issue >= batches || epoch.next_issue < epoch.next_deliver + window;
      });
      if (epoch.stop || epoch.next_issue >= batches) return;
      b = epoch.next_issue++;
    }
    auto result = load_batch(dataset, epoch, seed, b);
    if (epoch.stop) return;
    {
      std::lock_guard<std::mutex> lock(epoch.mutex);
      epoch.results[b] = std::move(result);
    }
    epoch.ready_cv.notify_all();
  }
}

}  // namespace

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  check(dataset_ != nullptr, "DataLoader: the dataset is null");
  check(options_.batch_size() >= 1, "DataLoader: batch_size must be at least 1, got {}", options_.batch_size());
  check(options_.num_workers() >= 0, "DataLoader: num_workers must be 0 or more, got {}", options_.num_workers());
  check(options_.prefetch_factor() >= 1, "DataLoader: prefetch_factor must be at least 1, got {}",
        options_.prefetch_factor());
}

DataLoader::~DataLoader() { stop_epoch(); }

int64_t DataLoader::size() const {
  const int64_t n = dataset_->size(), bs = options_.batch_size();
  return options_.drop_last() ? n / bs : (n + bs - 1) / bs;
}

void DataLoader::set_epoch(int64_t epoch) {
  check(epoch >= 0, "DataLoader::set_epoch: expected an epoch >= 0, got {}", epoch);
  next_epoch_ = epoch;
}

void DataLoader::stop_epoch() {
  if (!current_) return;
  {
    std::lock_guard<std::mutex> lock(current_->mutex);
    current_->stop = true;
  }
  current_->work_cv.notify_all();
  for (auto& t : current_->workers) t.join();
  current_.reset();
}

void DataLoader::start_epoch() {
  stop_epoch();
  epoch_ = next_epoch_++;
  auto e = std::make_unique<Epoch>();
  e->number = epoch_;
  const int64_t n = dataset_->size(), bs = options_.batch_size();
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (options_.shuffle()) {
    // Fisher-Yates from a generator of (seed, epoch), apart from every sample's stream.
    Generator gen(sample_seed(options_.seed(), epoch_, -1));
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[gen.randint(0, i + 1)]);
  }
  for (int64_t start = 0; start < n; start += bs) {
    const int64_t end = std::min(n, start + bs);
    if (end - start < bs && options_.drop_last()) break;
    e->plan.emplace_back(order.begin() + start, order.begin() + end);
  }
  current_ = std::move(e);
  const int64_t window = options_.num_workers() * options_.prefetch_factor();
  for (int64_t w = 0; w < options_.num_workers(); ++w)
    current_->workers.emplace_back(worker_loop, std::cref(*dataset_), std::ref(*current_), options_.seed(), window);
}

std::optional<Batch> DataLoader::next() {
  while (current_) {
    Epoch& e = *current_;
    const auto batches = static_cast<int64_t>(e.plan.size());
    if (e.next_deliver >= batches) {
      const bool all_skipped = e.delivered_samples == 0 && e.skipped_samples > 0;
      stop_epoch();
      check(!all_skipped, "DataLoader: every sample of epoch {} was skipped as a bad file; see the warnings above",
            epoch_);
      return std::nullopt;
    }
    Epoch::Result r;
    if (e.workers.empty()) {
      r = load_batch(*dataset_, e, options_.seed(), e.next_deliver);
      ++e.next_deliver;
    } else {
      std::unique_lock<std::mutex> lock(e.mutex);
      e.ready_cv.wait(lock, [&] { return e.results.count(e.next_deliver) > 0; });
      auto it = e.results.find(e.next_deliver);
      r = std::move(it->second);
      e.results.erase(it);
      ++e.next_deliver;
      lock.unlock();
      e.work_cv.notify_all();
    }
    if (r.error) {
      stop_epoch();
      std::rethrow_exception(r.error);
    }
    if (r.batch) {
      e.delivered_samples += r.batch->size();
      return r.batch;
    }
  }
  return std::nullopt;
}

DataLoader::Iterator DataLoader::begin() {
  start_epoch();
  return Iterator(this, next());
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  batch_ = loader_->next();
  return *this;
}

}  // namespace convgrad::data
