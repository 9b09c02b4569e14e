// loaderbench: does the DataLoader stall the training step? A small x2 super-resolution model is
// trained on random crops of PNG files (decode, RandomCrop, RandomDihedral, bicubic downscale for the
// input) fed three ways: batches made before the clock starts ("preloaded"), the DataLoader with no
// workers (loading in the step's thread), and the DataLoader with worker threads, taking turns in
// blocks of --steps timed steps for --rounds rounds. One JSON line per feed: the mean step time (the
// wait for its batch included), the mean wait for the batch alone, the ratio of the mean step to the
// preloaded one, and the median, lowest and highest of the per-round ratios. With --cache 1 (the
// default) the folder keeps the decoded images in memory (ImageFolderOptions::cache_in_memory, filled
// before the clock starts), so only the crop and the transforms run per sample; --cache 0 decodes
// the PNG file of every sample.
//
//   OMP_NUM_THREADS=2 build/bin/loaderbench [--threads 2] [--workers 2] [--batch 16] [--steps 10]
//                                          [--warmup 2] [--rounds 4] [--images 64] [--size 128] [--crop 48]
//                                          [--cache 1]
#include <convgrad/convgrad.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

using namespace convgrad;
namespace cd = convgrad::data;
namespace fs = std::filesystem;

namespace {

struct Options {
  int threads = 2;
  int64_t workers = 2, batch = 16, steps = 10, warmup = 2, rounds = 4, images = 64, size = 128, crop = 48;
  bool cache = true;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc || a.rfind("--", 0) != 0) {
      std::fprintf(stderr,
                   "usage: loaderbench [--threads N] [--workers N] [--batch N] [--steps N] [--warmup N] "
                   "[--rounds N] [--images N] [--size N] [--crop N] [--cache 0|1]\n");
      std::exit(2);
    }
    const long long v = std::atoll(argv[++i]);
    if (a == "--threads")
      o.threads = static_cast<int>(v);
    else if (a == "--workers")
      o.workers = v;
    else if (a == "--batch")
      o.batch = v;
    else if (a == "--steps")
      o.steps = v;
    else if (a == "--warmup")
      o.warmup = v;
    else if (a == "--rounds")
      o.rounds = v;
    else if (a == "--images")
      o.images = v;
    else if (a == "--size")
      o.size = v;
    else if (a == "--crop")
      o.crop = v;
    else if (a == "--cache")
      o.cache = v != 0;
    else {
      std::fprintf(stderr, "loaderbench: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.threads < 1 || o.workers < 1 || o.batch < 1 || o.steps < 1 || o.rounds < 1 || o.warmup < 0 ||
      o.crop < 2 || o.crop % 2 || o.size < o.crop) {
    std::fprintf(stderr, "loaderbench: invalid option value\n");
    std::exit(2);
  }
  return o;
}

// Smooth gradients plus noise: PNGs that compress and decode like photographs more than noise does.
void write_images(const fs::path& dir, const Options& o) {
  Generator gen(0);
  for (int64_t i = 0; i < o.images; ++i) {
    Tensor ramp = mul(reshape(arange(static_cast<double>(o.size)), {1, 1, o.size}), full({1}, 1.0 / o.size));
    Tensor img = add(add(mul(expand(ramp, {3, o.size, o.size}), rand({3, 1, 1}, gen)),
                         mul(rand({3, o.size, o.size}, gen), full({1}, 0.2))),
                     rand({3, 1, 1}, gen));
    write_png((dir / fmt::format("img{:04d}.png", i)).string(), img);
  }
}

using Clock = std::chrono::steady_clock;

struct Model {
  std::shared_ptr<Sequential> net;
  std::unique_ptr<Adam> opt;
  explicit Model(Generator& gen) {
    net = std::make_shared<Sequential>(
        std::make_shared<Conv2d>(Conv2dOptions(3, 32, 5).padding(2), gen), std::make_shared<ReLU>(),
        std::make_shared<Conv2d>(Conv2dOptions(32, 32, 3).padding(1), gen), std::make_shared<ReLU>(),
        std::make_shared<ConvTranspose2d>(ConvTranspose2dOptions(32, 3, 4).stride(2).padding(1), gen));
    opt = std::make_unique<Adam>(net->parameters(), AdamOptions(1e-3));
  }
  void step(const cd::Batch& b) {
    opt->zero_grad();
    Tensor loss = mse_loss(net->forward(b.input), b.target);
    loss.backward();
    opt->step();
  }
};

double mean(const std::vector<double>& v) {
  double total = 0;
  for (double x : v) total += x;
  return total / static_cast<double>(v.size());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const fs::path dir = fs::temp_directory_path() / fmt::format("convgrad_loaderbench_{}", ::getpid());
  try {
    set_num_threads(o.threads);
    fs::create_directories(dir);
    write_images(dir, o);
    auto pipeline = cd::Compose({cd::RandomCrop(o.crop), cd::RandomDihedral(), cd::MakeLowResPair(2)});
    auto folder = std::make_shared<cd::ImageFolder>(
        dir.string(), cd::ImageFolderOptions().transform(pipeline).cache_in_memory(o.cache));
    if (o.cache) {
      Generator warm(2);
      for (int64_t i = 0; i < folder->size(); ++i) folder->get(i, warm);
    }
    auto options = [&](int64_t workers) {
      return cd::DataLoaderOptions().batch_size(o.batch).shuffle(true).drop_last(true).num_workers(workers);
    };
    // Reads batches from `loader` forever, one epoch after another.
    auto endless = [](cd::DataLoader& loader) {
      return [&loader, it = cd::DataLoader::Iterator()]() mutable {
        if (it == loader.end()) it = loader.begin();
        cd::Batch b = std::move(*it);
        ++it;
        return b;
      };
    };
    std::vector<cd::Batch> ready;
    {
      cd::DataLoader loader(folder, options(0));
      auto next = endless(loader);
      for (int64_t s = 0; s < o.warmup + o.steps; ++s) ready.push_back(next());
    }
    // The feeds take turns in blocks (the order rotating every round), so that a machine whose load
    // drifts slows all of them alike. Each block starts a fresh loader: its workers get no head start
    // from the other blocks, and the block pays for its first batch.
    const int64_t feeds[3] = {-1, 0, o.workers};  // -1: preloaded
    std::vector<double> ms[3], wait[3], ratio[3];
    Generator gen(1);
    Model models[3] = {Model(gen), Model(gen), Model(gen)};
    for (int64_t round = 0; round < o.rounds; ++round) {
      double block_mean[3] = {0, 0, 0};
      for (int k = 0; k < 3; ++k) {
        const int f = static_cast<int>((k + round) % 3);
        std::unique_ptr<cd::DataLoader> loader;
        std::function<cd::Batch()> next;
        size_t i = 0;
        if (feeds[f] < 0) {
          next = [&] { return ready[i++ % ready.size()]; };
        } else {
          loader = std::make_unique<cd::DataLoader>(folder, options(feeds[f]));
          loader->set_epoch(round);
          next = endless(*loader);
        }
        std::vector<double> block;
        for (int64_t s = 0; s < o.warmup + o.steps; ++s) {
          const auto t0 = Clock::now();
          cd::Batch b = next();
          const auto t1 = Clock::now();
          models[f].step(b);
          const double dt = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          if (s >= o.warmup) {
            block.push_back(dt);
            wait[f].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
          }
        }
        ms[f].insert(ms[f].end(), block.begin(), block.end());
        block_mean[f] = mean(block);
      }
      for (int f = 0; f < 3; ++f) ratio[f].push_back(block_mean[f] / block_mean[0]);
    }
    for (int f = 0; f < 3; ++f)
      std::printf(
          "{\"feed\": \"%s\", \"workers\": %lld, \"threads\": %d, \"batch\": %lld, \"crop\": %lld, "
          "\"cache\": %s, \"rounds\": %lld, \"steps\": %lld, \"step_ms\": %.2f, \"median_step_ms\": %.2f, "
          "\"wait_ms\": %.2f, \"vs_preloaded\": %.3f, \"median_round_ratio\": %.3f, "
          "\"min_round_ratio\": %.3f, \"max_round_ratio\": %.3f}\n",
          f == 0 ? "preloaded" : "loader", (long long)std::max<int64_t>(feeds[f], 0), get_num_threads(),
          (long long)o.batch, (long long)o.crop, o.cache ? "true" : "false", (long long)o.rounds,
          (long long)ms[f].size(), mean(ms[f]), median(ms[f]), mean(wait[f]), mean(ms[f]) / mean(ms[0]),
          median(ratio[f]), *std::min_element(ratio[f].begin(), ratio[f].end()),
          *std::max_element(ratio[f].begin(), ratio[f].end()));
  } catch (const Error& e) {
    std::fprintf(stderr, "loaderbench: %s\n", e.what());
    fs::remove_all(dir);
    return 1;
  }
  fs::remove_all(dir);
  return 0;
}
