// loaderbench: does the DataLoader stall the training step? A small x2 super-resolution model is
// trained on random crops of PNG files (decode, RandomCrop, RandomDihedral, bicubic downscale for the
// input) fed three ways: batches made before the clock starts ("preloaded"), the DataLoader with no
// workers (loading in the step's thread), and the DataLoader with worker threads. One JSON line each
// with the mean step time, the time waiting for a batch included, and its ratio to the preloaded one.
//
//   OMP_NUM_THREADS=2 build/bin/loaderbench [--threads 2] [--workers 2] [--batch 16] [--steps 40]
//                                          [--images 64] [--size 128] [--crop 48]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <convgrad/convgrad.h>

using namespace convgrad;
namespace cd = convgrad::data;
namespace fs = std::filesystem;

namespace {

struct Options {
  int threads = 2;
  int64_t workers = 2, batch = 16, steps = 40, warmup = 5, images = 64, size = 128, crop = 48;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc || a.rfind("--", 0) != 0) {
      std::fprintf(stderr, "usage: loaderbench [--threads N] [--workers N] [--batch N] [--steps N] [--warmup N] "
                           "[--images N] [--size N] [--crop N]\n");
      std::exit(2);
    }
    const long long v = std::atoll(argv[++i]);
    if (a == "--threads") o.threads = static_cast<int>(v);
    else if (a == "--workers") o.workers = v;
    else if (a == "--batch") o.batch = v;
    else if (a == "--steps") o.steps = v;
    else if (a == "--warmup") o.warmup = v;
    else if (a == "--images") o.images = v;
    else if (a == "--size") o.size = v;
    else if (a == "--crop") o.crop = v;
    else {
      std::fprintf(stderr, "loaderbench: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.threads < 1 || o.workers < 1 || o.batch < 1 || o.steps < 1 || o.crop < 2 || o.crop % 2 || o.size < o.crop) {
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
    Tensor img = add(add(mul(expand(ramp, {3, o.size, o.size}), rand({3, 1, 1}, gen)), mul(rand({3, o.size, o.size}, gen),
                                                                                       full({1}, 0.2))),
                     rand({3, 1, 1}, gen));
    write_png((dir / fmt::format("img{:04d}.png", i)).string(), img);
  }
}

using Clock = std::chrono::steady_clock;

struct Model {
  std::shared_ptr<Sequential> net;
  std::unique_ptr<Adam> opt;
  explicit Model(Generator& gen) {
    net = std::make_shared<Sequential>(std::make_shared<Conv2d>(Conv2dOptions(3, 32, 5).padding(2), gen),
                                       std::make_shared<ReLU>(),
                                       std::make_shared<Conv2d>(Conv2dOptions(32, 32, 3).padding(1), gen),
                                       std::make_shared<ReLU>(),
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

// Mean and median ms of `steps` steps after `warmup`, each fed by `next_batch` inside the clock.
std::pair<double, double> time_steps(const Options& o, const std::function<cd::Batch()>& next_batch) {
  Generator gen(1);
  Model m(gen);
  std::vector<double> ms;
  for (int64_t s = 0; s < o.warmup + o.steps; ++s) {
    const auto t0 = Clock::now();
    m.step(next_batch());
    const double dt = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (s >= o.warmup) ms.push_back(dt);
  }
  double total = 0;
  for (double v : ms) total += v;
  std::sort(ms.begin(), ms.end());
  return {total / ms.size(), ms[ms.size() / 2]};
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
    auto folder = std::make_shared<cd::ImageFolder>(dir.string(), cd::ImageFolderOptions().transform(pipeline));
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
    size_t k = 0;
    const auto pre = time_steps(o, [&] { return ready[k++ % ready.size()]; });
    auto report = [&](const char* feed, int64_t workers, std::pair<double, double> t) {
      std::printf("{\"feed\": \"%s\", \"workers\": %lld, \"threads\": %d, \"batch\": %lld, \"crop\": %lld, "
                  "\"steps\": %lld, \"step_ms\": %.2f, \"median_step_ms\": %.2f, \"vs_preloaded\": %.3f}\n",
                  feed, (long long)workers, get_num_threads(), (long long)o.batch, (long long)o.crop,
                  (long long)o.steps, t.first, t.second, t.first / pre.first);
      std::fflush(stdout);
    };
    report("preloaded", 0, pre);
    for (int64_t w : {int64_t{0}, o.workers}) {
      cd::DataLoader loader(folder, options(w));
      report("loader", w, time_steps(o, endless(loader)));
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "loaderbench: %s\n", e.what());
    fs::remove_all(dir);
    return 1;
  }
  fs::remove_all(dir);
  return 0;
}
