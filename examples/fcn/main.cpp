// fcn: trains TinyFCN to segment synthetic shapes, evaluates it on 512 held-out images and writes
// pictures. `make demo` runs it with the defaults. Run with --help for the options.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <memory>

#include "cli_checks.h"
#include "core/threading.h"
#include "layers/checkpoint.h"
#include "png_io.h"
#include "runtime.h"
#include "train.h"
#include "visuals.h"

using namespace convgrad;
using namespace convgrad::fcn;

namespace {

void parse(CLI::App& app, FcnConfig& c) {
  app.add_option("--steps", c.steps, "optimizer steps")->check(example::at_least(0))->capture_default_str();
  app.add_option("--batch", c.batch, "images per step")->check(example::at_least(1))->capture_default_str();
  app.add_option("--lr", c.lr, "learning rate (default: adam 6e-3, sgd 0.05)")->check(example::positive());
  app.add_option("--optimizer", c.optimizer, "adam or sgd (momentum 0.9, weight decay 1e-4)")
      ->check(CLI::IsMember({"adam", "sgd"}))
      ->capture_default_str();
  app.add_option("--schedule", c.schedule, "learning-rate schedule: cosine (to 0) or constant")
      ->check(CLI::IsMember({"cosine", "constant"}))
      ->capture_default_str();
  app.add_option("--threads", c.threads, "threads for every kernel")
      ->check(example::at_least(1))
      ->capture_default_str();
  app.add_flag("--skips,!--no-skips", c.skips,
               "FCN-8s-style skip fusion (on by default; --no-skips = one x8 transposed conv)");
  app.add_option("--seed", c.seed, "seed of the data and of the initial weights")->capture_default_str();
  app.add_option("--train-images", c.train_images, "training set size, cycled")
      ->check(example::at_least(1))
      ->capture_default_str();
  app.add_option("--log-every", c.log_every, "steps between progress lines when not on a terminal")
      ->check(example::at_least(1))
      ->capture_default_str();
  app.add_option("--out", c.out, "folder for the PNG pictures")->capture_default_str();
  app.add_option("--save", c.save, "write the trained weights to this .npz checkpoint");
  app.add_option("--load", c.load, "start from the weights in this .npz checkpoint");
  app.add_flag("--eval-only", c.eval_only, "skip training: evaluate (use with --load)");
  app.add_flag("--json", c.json, "print only one JSON line with the results");
  app.add_flag("--bf16", c.bf16,
               "mixed precision: forward and loss under AutocastGuard (bfloat16 convolutions)");
}

void print_report(const FcnConfig& c, const EvalResult& e, const TrainLog& log, int64_t steps) {
  fmt::print("held-out ({} images): pixel accuracy {:.4f}, mean IoU {:.4f}\n", c.eval_images, e.pixel_acc,
             e.miou);
  for (size_t k = 0; k < e.iou.size(); ++k)
    fmt::print("  IoU {:<10} {}\n", class_name(static_cast<int64_t>(k)),
               std::isnan(e.iou[k]) ? std::string("n/a") : fmt::format("{:.4f}", e.iou[k]));
  if (steps > 0)
    fmt::print("trained {} steps in {:.1f} s: median step {:.1f} ms, {:.0f} images/s ({} threads)\n", steps,
               log.train_s, log.step_ms, log.images_per_s, c.threads);
}

int run(const FcnConfig& c) {
  set_num_threads(c.threads);
  Generator gen(c.seed);
  auto model = std::make_shared<TinyFCN>(c.skips, gen);
  if (!c.load.empty()) {
    try {
      load(*model, c.load);
    } catch (const Error& e) {
      if (!std::filesystem::exists(c.load)) throw;
      fail("{}\n(the checkpoint must come from the same model: was it saved {} --skips?)", e.what(),
           c.skips ? "without" : "with");
    }
  }
  // Different streams of one seed: the held-out images never appear in training.
  ShapesDataset train_set(c.seed, 1, c.train_images), heldout(c.seed, 2, c.eval_images);
  const int64_t steps = c.eval_only ? 0 : c.steps;
  if (!c.json) {
    fmt::print("TinyFCN{} on synthetic shapes: {} steps x batch {}, {} lr {} ({}), {} threads\n",
               c.skips ? " (FCN-8s skips)" : "", steps, c.batch, c.optimizer,
               c.lr > 0 ? c.lr : default_lr(c.optimizer), c.schedule, c.threads);
    if (std::string hint = example::busy_machine_hint(c.threads); !hint.empty() && steps > 0)
      fmt::print("{}\n", hint);
    if (c.eval_only && c.load.empty())
      fmt::print("note: --eval-only without --load evaluates untrained weights\n");
  }
  FcnConfig tc = c;
  tc.steps = steps;
  TrainLog log = train(*model, train_set, tc);
  if (!c.save.empty()) {
    std::filesystem::path parent = std::filesystem::path(c.save).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    save(*model, c.save);
    if (!c.json) fmt::print("saved the weights to {}\n", c.save);
  }
  EvalResult e = evaluate(*model, heldout);

  std::filesystem::create_directories(c.out);
  std::string grid = (std::filesystem::path(c.out) / "fcn_predictions.png").string();
  example::write_png(grid, prediction_grid(e.images, e.predictions, e.labels));
  std::string curves;
  if (steps > 0) {
    curves = (std::filesystem::path(c.out) / "fcn_training.png").string();
    example::write_png(curves, training_curves(log.loss, log.accuracy,
                                               fmt::format("held-out: pixel accuracy {:.3f}, mean IoU {:.3f}",
                                                           e.pixel_acc, e.miou)));
  }
  if (c.json) {
    fmt::print("{}\n", result_json(e, log, steps));
  } else {
    print_report(c, e, log, steps);
    fmt::print("wrote {}{}\n", grid, curves.empty() ? "" : " and " + curves);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fcn: a tiny fully convolutional network segments synthetic shapes (convgrad example)"};
  FcnConfig config;
  parse(app, config);
  CLI11_PARSE(app, argc, argv);
  try {
    return run(config);
  } catch (const std::exception& e) {
    fmt::print(stderr, "fcn: error: {}\n", e.what());
    return 1;
  }
}
