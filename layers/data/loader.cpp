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
namespace {

struct Result {
  std::optional<Batch> batch;  // nullopt: every sample of the batch was skipped
  int64_t skipped = 0;
  std::exception_ptr error;
};

// Sample order of one epoch: shuffled by Fisher-Yates from (seed, epoch), apart from every sample's
// stream (index -1 is never a sample), or the index order.
std::vector<int64_t> epoch_order(int64_t n, const DataLoaderOptions& o, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (o.shuffle()) {
    Generator gen(sample_seed(o.seed(), epoch, -1));
    for (int64_t i = n - 1; i > 0; --i)
      std::swap(order[static_cast<size_t>(i)], order[gen.randint(0, i + 1)]);
  }
  return order;
}

// Loads batch `b` of `epoch`, whose samples are order[b * bs, b * bs + bs). Never throws: an error is
// returned, worded with the sample it came from. Stops early, returning nothing, once `stop` is set.
Result load_batch(const Dataset& dataset, const std::vector<int64_t>& order, const DataLoaderOptions& o,
                  int64_t epoch, int64_t b, const std::atomic<bool>* stop) {
  Result r;
  std::vector<Example> examples;
  std::vector<int64_t> indices;
  const int64_t bs = o.batch_size(), n = static_cast<int64_t>(order.size());
  int64_t index = -1;
  try {
    for (int64_t k = b * bs; k < std::min(n, b * bs + bs); ++k) {
      if (stop && *stop) return r;
      index = order[static_cast<size_t>(k)];
      Generator gen(sample_seed(o.seed(), epoch, index));
      try {
        examples.push_back(dataset.get(index, gen));
        indices.push_back(index);
      } catch (const SampleSkipped&) {
        ++r.skipped;
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
      what = fmt::format("DataLoader: sample {} (batch {} of epoch {}): {}", index, b, epoch, what);
    } else {
      what = fmt::format("DataLoader: batch {} of epoch {}: {}", b, epoch, what);
    }
    r.error = std::make_exception_ptr(Error(what));
  }
  return r;
}

}  // namespace

/// Batches numbered 0, 1, ... across epochs from `first_epoch` on: number g is batch g % per_epoch
/// of epoch first_epoch + g / per_epoch. Workers take numbers in order, at most `window` past the
/// one the consumer waits for; the consumer takes results in order, so their order never depends on
/// which worker finished first.
struct DataLoader::Stream {
  const Dataset* dataset = nullptr;
  DataLoaderOptions options;
  int64_t first_epoch = 0, per_epoch = 1, window = 1;
  std::mutex mutex;
  std::condition_variable work_cv, ready_cv;
  int64_t next_issue = 0, next_deliver = 0;                         // guarded by mutex
  std::map<int64_t, Result> results;                                // guarded by mutex
  std::map<int64_t, std::shared_ptr<std::vector<int64_t>>> orders;  // per epoch, guarded by mutex
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;

  void run() {
    // Workers decode and augment with one kernel thread each, leaving the cores to the training step.
    NumThreadsGuard one_thread(1);
    NoGradGuard no_grad;
    for (;;) {
      int64_t g = 0;
      std::shared_ptr<std::vector<int64_t>> order;
      {
        std::unique_lock<std::mutex> lock(mutex);
        work_cv.wait(lock, [&] { return stop || next_issue < next_deliver + window; });
        if (stop) return;
        g = next_issue++;
        const int64_t epoch = first_epoch + g / per_epoch;
        auto& slot = orders[epoch];
        if (!slot)
          slot = std::make_shared<std::vector<int64_t>>(epoch_order(dataset->size(), options, epoch));
        order = slot;
        orders.erase(orders.begin(), orders.lower_bound(epoch - 1));
      }
      Result r = load_batch(*dataset, *order, options, first_epoch + g / per_epoch, g % per_epoch, &stop);
      if (stop) return;
      {
        std::lock_guard<std::mutex> lock(mutex);
        results[g] = std::move(r);
      }
      ready_cv.notify_all();
    }
  }
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  CONVGRAD_CHECK(dataset_ != nullptr, "DataLoader: the dataset is null");
  CONVGRAD_CHECK(options_.batch_size() >= 1, "DataLoader: batch_size must be at least 1, got {}",
                 options_.batch_size());
  CONVGRAD_CHECK(options_.num_workers() >= 0, "DataLoader: num_workers must be 0 or more, got {}",
                 options_.num_workers());
  CONVGRAD_CHECK(options_.prefetch_factor() >= 1, "DataLoader: prefetch_factor must be at least 1, got {}",
                 options_.prefetch_factor());
}

DataLoader::~DataLoader() { stop_stream(); }

int64_t DataLoader::size() const {
  const int64_t n = dataset_->size(), bs = options_.batch_size();
  return options_.drop_last() ? n / bs : (n + bs - 1) / bs;
}

void DataLoader::set_epoch(int64_t epoch) {
  CONVGRAD_CHECK(epoch >= 0, "DataLoader::set_epoch: expected an epoch >= 0, got {}", epoch);
  next_epoch_ = epoch;
}

void DataLoader::stop_stream() {
  if (!stream_) return;
  {
    std::lock_guard<std::mutex> lock(stream_->mutex);
    stream_->stop = true;
  }
  stream_->work_cv.notify_all();
  for (auto& t : stream_->workers) t.join();
  stream_.reset();
}

void DataLoader::start_epoch() {
  epoch_ = next_epoch_++;
  batch_ = delivered_ = skipped_ = 0;
  active_ = true;
  const int64_t per_epoch = size();
  if (options_.num_workers() == 0) {
    order_ = epoch_order(dataset_->size(), options_, epoch_);
    return;
  }
  // The running workers carry on when this epoch is the one they are already loading.
  if (stream_ && stream_->per_epoch == per_epoch && epoch_ >= stream_->first_epoch &&
      stream_->next_deliver == (epoch_ - stream_->first_epoch) * per_epoch)
    return;
  stop_stream();
  if (per_epoch == 0) return;
  stream_ = std::make_unique<Stream>();
  stream_->dataset = dataset_.get();
  stream_->options = options_;
  stream_->first_epoch = epoch_;
  stream_->per_epoch = per_epoch;
  stream_->window = options_.num_workers() * options_.prefetch_factor();
  for (int64_t w = 0; w < options_.num_workers(); ++w)
    stream_->workers.emplace_back([s = stream_.get()] { s->run(); });
}

std::optional<Batch> DataLoader::next() {
  while (active_ && batch_ < size()) {
    Result r;
    if (!stream_) {
      // Loading runs on one kernel thread: the per-sample work is small, and parallel regions on it cost
      // more than they save (and, on a busy machine, far more). The guard restores the caller's setting.
      NumThreadsGuard one(1);
      r = load_batch(*dataset_, order_, options_, epoch_, batch_, nullptr);
    } else {
      Stream& s = *stream_;
      const int64_t g = (epoch_ - s.first_epoch) * s.per_epoch + batch_;
      std::unique_lock<std::mutex> lock(s.mutex);
      s.ready_cv.wait(lock, [&] { return s.results.count(g) > 0; });
      auto it = s.results.find(g);
      r = std::move(it->second);
      s.results.erase(it);
      s.next_deliver = g + 1;
      lock.unlock();
      s.work_cv.notify_all();
    }
    ++batch_;
    skipped_ += r.skipped;
    if (r.error) {
      active_ = false;
      stop_stream();
      std::rethrow_exception(r.error);
    }
    if (r.batch) {
      delivered_ += r.batch->size();
      return r.batch;
    }
  }
  if (active_) {
    active_ = false;
    CONVGRAD_CHECK(!(delivered_ == 0 && skipped_ > 0),
                   "DataLoader: every sample of epoch {} was skipped as a bad file; see the warnings above",
                   epoch_);
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
