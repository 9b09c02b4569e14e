// Memory: training a TinyFCN-sized model does not grow resident memory, inference under NoGradGuard
// builds no graph, and a graph dropped without backward() (or abandoned by an exception) frees everything.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/factory.h"
#include "core/random.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/loss.h"
#include "layers/optim.h"
#include "layers/sequential.h"
#include "test_tiny_fcn.h"

using namespace convgrad;
using convgrad::testing::tiny_fcn;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;  // ASan's quarantine holds freed memory: RSS says nothing there
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Resident set size of this process in bytes (Linux /proc/self/statm: pages).
int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t total = 0, resident = 0;
  statm >> total >> resident;
  return resident * static_cast<int64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST_CASE("training 500 steps: live objects constant, resident memory grows < 2% after warm-up") {
  Generator gen(1);
  auto model = tiny_fcn(gen);
  Adam opt(model->parameters(), AdamOptions(1e-3));
  const int64_t batch = 4, steps = kSanitized ? 60 : 500, warmup = kSanitized ? 20 : 100, window = steps / 5;
  Tensor images = rand({batch, 3, 64, 64}, gen);  // the FCN example's image size
  Tensor labels = randint(0, 4, {batch, 64, 64}, gen);

  // RSS moves by ~1 MiB from step to step as the allocator trims and regrows its heap, so the peaks of two
  // windows are compared: the first `window` steps after warm-up and the last `window` steps.
  int64_t nodes_after_warmup = 0, storages_after_warmup = 0, peak_early = 0, peak_late = 0;
  float first_loss = 0.f, last_loss = 0.f;
  for (int64_t step = 1; step <= steps; ++step) {
    Tensor x = clone_data(images) + 0.01f * randn(images.shape(), gen);  // a fresh batch, like a data loader
    opt.zero_grad();
    Tensor loss = cross_entropy(model->forward(x), labels);
    loss.backward();
    opt.step();
    last_loss = loss.item();
    if (step == 1) first_loss = last_loss;
    const int64_t rss = resident_bytes();
    if (step > warmup && step <= warmup + window) peak_early = std::max(peak_early, rss);
    if (step > steps - window) peak_late = std::max(peak_late, rss);
    if (step == warmup) {
      nodes_after_warmup = Node::live_count();
      storages_after_warmup = Storage::live_count();
    } else if (step > warmup) {
      // Same point of the loop, same objects alive: nothing accumulates anywhere.
      REQUIRE(Node::live_count() == nodes_after_warmup);
      REQUIRE(Storage::live_count() == storages_after_warmup);
    }
  }
  double growth = static_cast<double>(peak_late - peak_early) / static_cast<double>(peak_early);
  MESSAGE("peak RSS in steps " << warmup + 1 << "-" << warmup + window << ": " << peak_early / 1024
                               << " KiB, in steps " << steps - window + 1 << "-" << steps << ": "
                               << peak_late / 1024 << " KiB (" << growth * 100 << "%)");
  if (!kSanitized) CHECK(growth < 0.02);
  CHECK(last_loss < first_loss);  // it really trained
}

TEST_CASE("inference under NoGradGuard builds no graph") {
  Generator gen(2);
  auto model = tiny_fcn(gen);
  Tensor x = rand({2, 3, 16, 16}, gen);
  const int64_t nodes = Node::live_count();
  Tensor y;
  {
    NoGradGuard no_grad;
    y = model->forward(x);
    CHECK(Node::live_count() == nodes);
  }
  CHECK(y.shape() == Shape{2, 4, 16, 16});
  CHECK(y.grad_fn() == nullptr);
  CHECK_FALSE(y.requires_grad());
  // With grad mode on the same forward records one node per op.
  Tensor z = model->forward(x);
  CHECK(Node::live_count() > nodes);
  CHECK(z.grad_fn() != nullptr);
}

TEST_CASE("a graph dropped without backward() frees every node and buffer") {
  Generator gen(3);
  auto model = tiny_fcn(gen);
  Tensor x = rand({2, 3, 16, 16}, gen);
  Tensor labels = randint(0, 4, {2, 16, 16}, gen);
  const int64_t nodes = Node::live_count(), storages = Storage::live_count();
  {
    Tensor loss = cross_entropy(model->forward(x), labels);
    CHECK(Node::live_count() > nodes + 10);
    CHECK(Storage::live_count() > storages + 10);
  }  // loss (the graph's only root) goes out of scope here
  CHECK(Node::live_count() == nodes);
  CHECK(Storage::live_count() == storages);

  // After backward the graph is released; the gradients are the only new buffers (one per parameter).
  {
    Tensor loss = cross_entropy(model->forward(x), labels);
    loss.backward();
  }
  CHECK(Node::live_count() == nodes);
  CHECK(Storage::live_count() == storages + static_cast<int64_t>(model->parameters().size()));
  model->zero_grad();
  CHECK(Storage::live_count() == storages);

  // An exception half-way through a forward pass unwinds the partial graph too.
  CHECK_THROWS_AS(cross_entropy(model->forward(x), full({2, 16, 16}, 7, DType::Int64)),
                  Error);  // 7 >= 4 classes
  CHECK(Node::live_count() == nodes);
  CHECK(Storage::live_count() == storages);
}
