// Threads sharing the library (docs/reliability.md, "Threads"): backward() on graphs that share leaves,
// saves and loads of one checkpoint path, independent models training at once, the default generator,
// and the process-wide thread setting. `make test-tsan` runs this file under ThreadSanitizer.
#include <doctest/doctest.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "layers/convgrad.h"

using namespace convgrad;
namespace fs = std::filesystem;

namespace {

constexpr int kThreads = 4;

// Runs fn(t) on kThreads threads, started together (each waits for all to exist), and joins them.
template <class F>
void on_threads(F&& fn) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&fn, &ready, t] {
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();
      fn(t);
    });
  for (auto& th : threads) th.join();
}

// Iterations of the stress loops: fewer under ThreadSanitizer, which sees every race on the first try
// (and runs each access many times slower); enough in a normal build to lose updates without the locks.
#if defined(__SANITIZE_THREAD__)
constexpr int kScale = 1;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr int kScale = 1;
#else
constexpr int kScale = 10;
#endif
#else
constexpr int kScale = 10;
#endif

// A small model with every kind of state: conv, batch norm (running statistics), dropout (its own
// generator), linear.
std::shared_ptr<Sequential> small_model(uint64_t seed) {
  Generator gen(seed);
  auto dropout = std::make_shared<Dropout>(0.25f);
  dropout->set_generator(std::make_shared<Generator>(seed + 1000));
  return std::make_shared<Sequential>(std::make_shared<Conv2d>(Conv2dOptions(1, 3, 3).padding(1), gen),
                                      std::make_shared<BatchNorm2d>(3), std::make_shared<ReLU>(), dropout,
                                      std::make_shared<Flatten>(),
                                      std::make_shared<Linear>(LinearOptions(48, 2), gen));
}

// The losses of a few training steps of small_model(seed) on data drawn from `seed`.
std::vector<float> train_losses(uint64_t seed) {
  auto model = small_model(seed);
  Adam adam(model->parameters(), AdamOptions(0.01));
  Generator data(seed + 7);
  Tensor x = randn({4, 1, 4, 4}, data);
  Tensor target = randint(0, 2, {4}, data);
  std::vector<float> losses;
  for (int step = 0; step < 6; ++step) {
    Tensor loss = cross_entropy(model->forward(x), target);
    adam.zero_grad();
    loss.backward();
    adam.step();
    losses.push_back(loss.item());
  }
  return losses;
}

}  // namespace

TEST_CASE("backward from several threads on graphs sharing a leaf adds every contribution exactly") {
  const int kIters = 200 * kScale;
  Tensor w = zeros({4096}).set_requires_grad(), b = zeros({1}).set_requires_grad();
  const Tensor two = full({4096}, 2.0);
  on_threads([&](int) {
    for (int i = 0; i < kIters; ++i) {
      // Each backward adds 2 to every element of w's gradient and 4096 to b's.
      Tensor y = sum(add(mul(w, two), b));
      y.backward();
    }
  });
  const float expected = 2.f * kThreads * kIters;
  REQUIRE(w.grad().defined());
  for (float g : w.grad().to_vector()) REQUIRE(g == expected);  // no lost update, no torn tensor
  CHECK(b.grad().item() == 4096.f * kThreads * kIters);
}

TEST_CASE("threads saving and loading one checkpoint path: every save succeeds and every load is whole") {
  const fs::path dir = fs::temp_directory_path() / ("convgrad_concurrency_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "shared.npz").string();
  auto constant_model = [](int value) {
    auto model = small_model(static_cast<uint64_t>(value));
    // Every float tensor holds `value`, so a load mixing two files, or a partial one, is visible.
    for (const auto& [name, tensor] : model->state_dict())
      if (tensor.dtype() == DType::Float32) init::constant_(tensor, value);
    return model;
  };
  save(*constant_model(-1), path);
  std::atomic<int> save_errors{0}, load_errors{0}, partial{0};
  on_threads([&](int t) {
    auto model = constant_model(t);
    for (int i = 0; i < 12; ++i) {
      try {
        if (t % 2 == 0) {
          save(*model, path);
        } else {
          auto loaded = small_model(99);
          load(*loaded, path);
          std::vector<float> values;
          for (const Tensor& p : loaded->parameters())
            for (float v : p.to_vector()) values.push_back(v);
          partial += std::any_of(values.begin(), values.end(), [&](float v) { return v != values[0]; });
        }
      } catch (const Error&) {
        ++(t % 2 == 0 ? save_errors : load_errors);
      }
    }
  });
  CHECK(save_errors.load() == 0);
  CHECK(load_errors.load() == 0);
  CHECK(partial.load() == 0);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename().string());
  CHECK(left == std::vector<std::string>{"shared.npz"});
  fs::remove_all(dir);
}

TEST_CASE("threads training independent models get the losses of training them one at a time") {
  std::vector<std::vector<float>> alone(kThreads), together(kThreads);
  for (int t = 0; t < kThreads; ++t) alone[t] = train_losses(static_cast<uint64_t>(t));
  on_threads([&](int t) { together[t] = train_losses(static_cast<uint64_t>(t)); });
  for (int t = 0; t < kThreads; ++t) {
    CAPTURE(t);
    CHECK(together[t] == alone[t]);  // bit for bit: nothing is shared between the models
    CHECK(alone[t].back() < alone[t].front());
  }
}

TEST_CASE("the default generator shared by threads gives every draw a distinct number of one stream") {
  const int kSingle = 200 * kScale, kBulk = 20, kBulkSize = 2000 * kScale;
  // A few rounds: without the lock a round goes wrong only when two draws interleave badly.
  for (int round = 0; round < 3; ++round) {
    manual_seed(123 + round);
    std::vector<std::vector<float>> drawn(kThreads);
    on_threads([&](int t) {
      for (int i = 0; i < kSingle; ++i) {
        drawn[t].push_back(default_generator().uniform());
        if (i % (kSingle / kBulk) == 0) {
          std::vector<float> v = rand({kBulkSize}).to_vector();
          // One tensor's values are consecutive numbers of the stream: drawn under one lock.
          drawn[t].insert(drawn[t].end(), v.begin(), v.end());
        }
      }
    });
    std::vector<float> all;
    for (const auto& d : drawn) all.insert(all.end(), d.begin(), d.end());
    // Together the threads drew exactly the first numbers of the seed's stream, each once.
    Generator reference(123 + static_cast<uint64_t>(round));
    std::vector<float> expected(all.size());
    reference.fill_uniform(expected.data(), static_cast<int64_t>(expected.size()));
    std::sort(all.begin(), all.end());
    std::sort(expected.begin(), expected.end());
    CAPTURE(round);
    REQUIRE(all == expected);
  }
}

TEST_CASE("set_num_threads applies to every thread, also one started later; NumThreadsGuard to its own") {
  const int saved = get_num_threads();
  set_num_threads(3);
  int seen = 0, openmp_seen = 0, guarded = 0, after_guard = 0;
  std::thread([&] {
    seen = get_num_threads();
    openmp_seen = omp_get_max_threads();  // OpenMP's per-thread setting follows it
    {
      NumThreadsGuard one(1);
      guarded = get_num_threads();
    }
    after_guard = get_num_threads();
  }).join();
  CHECK(seen == 3);
  CHECK(openmp_seen == 3);
  CHECK(guarded == 1);
  CHECK(after_guard == 3);
  CHECK(get_num_threads() == 3);  // the guard in the other thread did not touch this one
  CHECK_THROWS_WITH_AS(NumThreadsGuard(0), doctest::Contains("got 0"), Error);
  set_num_threads(saved);
  std::thread([&] { seen = get_num_threads(); }).join();
  CHECK(seen == saved);
}
