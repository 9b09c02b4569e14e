// DataLoader: batches from a Dataset, shuffled per epoch from a seed, loaded ahead of the training
// step by worker threads, as torch.utils.data.DataLoader.
#pragma once

#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/arg.h"
#include "layers/data/dataset.h"

namespace convgrad::data {

/// Options of DataLoader: DataLoaderOptions().batch_size(16).shuffle(true).num_workers(2).
class DataLoaderOptions {
 public:
  /// Samples per batch (default 1).
  CONVGRAD_ARG(int64_t, batch_size) = 1;
  /// A new random order every epoch, drawn from (seed, epoch) (default false: index order).
  CONVGRAD_ARG(bool, shuffle) = false;
  /// Leave out the last batch when it is smaller than batch_size (default false).
  CONVGRAD_ARG(bool, drop_last) = false;
  /// Threads loading batches ahead of the consumer; 0 loads each batch in the consumer's thread when
  /// it is asked for (default 0). Loading always runs on one kernel thread (a NumThreadsGuard(1) in a
  /// worker, and in the consumer's thread while it loads a batch); other threads keep their setting.
  CONVGRAD_ARG(int64_t, num_workers) = 0;
  /// Seeds the shuffle and every sample's random stream (default 0).
  CONVGRAD_ARG(uint64_t, seed) = 0;
  /// Batches each worker may load ahead: at most num_workers * prefetch_factor batches wait or are
  /// being loaded beyond the one the consumer asks for (default 2).
  CONVGRAD_ARG(int64_t, prefetch_factor) = 2;
};

/// Samples stacked along a new first dim.
struct Batch {
  Tensor input;                    ///< (N, ...) the inputs stacked
  Tensor target;                   ///< (N, ...) the targets stacked; undefined when samples have none
  Tensor label;                    ///< int64 (N,) class labels, -1 where a sample has none
  std::vector<int64_t> indices;    ///< dataset index of each sample
  std::vector<std::string> paths;  ///< file of each sample (empty for in-memory data)
  /// N, the number of samples (smaller than batch_size for the last batch or after skipped files).
  int64_t size() const { return input.defined() ? input.size(0) : 0; }
};

/// The random seed sample `index` gets in `epoch`: a hash of (seed, epoch, index), so a sample's
/// transforms do not depend on which thread loads it or on the other samples.
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index);

/// Collates examples into one batch; every input (and every target) must have the same shape.
Batch collate(const std::vector<Example>& examples);

/// Iterates a dataset in batches:
///
///     for (Batch& b : loader) step(b.input, b.target);
///
/// Each begin() starts the next epoch (0, 1, ...; set_epoch chooses it). Sample i of epoch e is
/// loaded with Generator(sample_seed(seed, e, i)), so the same seed gives the same batches, in the
/// same order, whatever num_workers is. Workers run on into the following epoch, so an epoch's first
/// batches are ready when it starts (a dataset smaller than a few batches never stalls the step);
/// a new epoch that does not follow the last one read to its end (set_epoch, a break) restarts them. A sample
/// the dataset skips (SampleSkipped) leaves its batch one smaller, and a batch left empty is not produced.
/// Any other exception from a worker stops the epoch and is thrown from the iteration as convgrad::Error
/// naming the sample. Destroying the loader, or starting a new epoch, stops the workers and joins them.
class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  /// Input iterator over one epoch's batches.
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = Batch*;
    using reference = Batch&;
    Iterator() = default;
    Batch& operator*() { return *batch_; }
    Batch* operator->() { return &*batch_; }
    Iterator& operator++();
    bool operator==(const Iterator& other) const { return !batch_ && !other.batch_; }

   private:
    friend class DataLoader;
    Iterator(DataLoader* loader, std::optional<Batch> batch) : loader_(loader), batch_(std::move(batch)) {}
    DataLoader* loader_ = nullptr;
    std::optional<Batch> batch_;
  };

  /// Starts the next epoch and returns its first batch.
  Iterator begin();
  Iterator end() { return Iterator(); }

  /// Starts the next epoch (what begin() does); batches left unread in the last one are dropped.
  void start_epoch();
  /// The next batch of the current epoch, or nullopt when it is over (or none was started).
  std::optional<Batch> next();
  /// The number the next epoch gets (default: one more than the last).
  void set_epoch(int64_t epoch);
  /// The epoch started last; -1 before the first.
  int64_t epoch() const { return epoch_; }
  /// Batches per epoch before any sample is skipped.
  int64_t size() const;
  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }

  /// The workers' state: batches numbered across epochs, results waiting for the consumer; defined in
  /// loader.cpp.
  struct Stream;

 private:
  void stop_stream();

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  int64_t epoch_ = -1, next_epoch_ = 0;
  // The epoch being consumed: whether it is open, its next batch, and what it delivered and skipped.
  bool active_ = false;
  int64_t batch_ = 0, delivered_ = 0, skipped_ = 0;
  std::vector<int64_t> order_;  // the epoch's sample order, when there are no workers
  std::unique_ptr<Stream> stream_;
};

}  // namespace convgrad::data
