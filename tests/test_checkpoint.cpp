// Checkpoints: save -> load gives identical outputs and identical continued training; mismatched,
// truncated and corrupted files give clear errors and leave the model untouched; saving is atomic.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "layers/convgrad.h"

using namespace convgrad;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test case, removed at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("convgrad_ckpt_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

std::shared_ptr<Sequential> make_model(uint64_t seed, int64_t hidden = 4) {
  Generator gen(seed);
  return std::make_shared<Sequential>(
      std::make_shared<Conv2d>(Conv2dOptions(1, hidden, 3).padding(1), gen),
      std::make_shared<BatchNorm2d>(BatchNorm2dOptions(hidden)), std::make_shared<ReLU>(),
      std::make_shared<ConvTranspose2d>(ConvTranspose2dOptions(hidden, 2, 4).stride(2).padding(1), gen));
}

// A deterministic toy batch for step `i`: segment pixels above 0.5.
std::pair<Tensor, Tensor> batch(int i) {
  Generator gen(100 + i);
  Tensor x = rand({4, 1, 4, 4}, gen);
  Tensor up = upsample_bilinear2d(x, {8, 8});
  return {x, to_dtype(gt(squeeze(up, 1), full({1}, 0.5)), DType::Int64)};
}

void train_steps(Module& model, Optimizer& opt, int from, int count) {
  model.train();
  for (int i = from; i < from + count; ++i) {
    auto [x, t] = batch(i);
    opt.zero_grad();
    cross_entropy(model.forward(x), t).backward();
    opt.step();
  }
}

std::map<std::string, std::vector<float>> snapshot(const Module& m) {
  std::map<std::string, std::vector<float>> out;
  for (auto& [n, t] : m.state_dict())
    out[n] = t.dtype() == DType::Float32 ? t.to_vector()
                                         : std::vector<float>{static_cast<float>(t.item<int64_t>())};
  return out;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

std::string load_error(Module& m, const std::string& path) {
  try {
    load(m, path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("save -> load gives identical outputs, and the file is one array per dotted name") {
  TempDir dir;
  auto a = make_model(1);
  Adam opt(a->parameters(), AdamOptions(0.01));
  train_steps(*a, opt, 0, 3);  // non-trivial weights and running statistics
  save(*a, dir.file("model.npz"));

  auto b = make_model(2);
  CHECK(snapshot(*a) != snapshot(*b));
  load(*b, dir.file("model.npz"));
  CHECK(snapshot(*a) == snapshot(*b));
  a->eval();
  b->eval();
  Tensor x = batch(99).first;
  CHECK(a->forward(x).to_vector() == b->forward(x).to_vector());

  auto arrays = load_npz(dir.file("model.npz"));
  std::vector<std::string> keys;
  for (auto& [k, _] : arrays) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"0.bias", "0.weight", "1.bias", "1.num_batches_tracked",
                                         "1.running_mean", "1.running_var", "1.weight", "3.bias",
                                         "3.weight"});
  CHECK(arrays.at("1.num_batches_tracked").dtype() == DType::Int64);
  CHECK(arrays.at("1.num_batches_tracked").item<int64_t>() == 3);
  CHECK(arrays.at("3.weight").shape() == Shape{4, 2, 4, 4});
}

TEST_CASE("save -> load with the optimizer continues training identically") {
  TempDir dir;
  auto a = make_model(1);
  Adam opt_a(a->parameters(), AdamOptions(0.01).weight_decay(1e-3));
  train_steps(*a, opt_a, 0, 3);
  save(*a, opt_a, dir.file("ckpt.npz"));
  CHECK(load_npz(dir.file("ckpt.npz")).count("optim.step") == 1);
  train_steps(*a, opt_a, 3, 4);

  auto b = make_model(7);
  Adam opt_b(b->parameters(), AdamOptions(0.01).weight_decay(1e-3));
  load(*b, opt_b, dir.file("ckpt.npz"));
  CHECK(opt_b.step_count() == 3);
  train_steps(*b, opt_b, 3, 4);
  CHECK(snapshot(*a) == snapshot(*b));  // bit for bit: same moments, same step count, same BN stats

  // Without the optimizer state the continuation differs (Adam's moments restart).
  auto c = make_model(7);
  Adam opt_c(c->parameters(), AdamOptions(0.01).weight_decay(1e-3));
  load(*c, dir.file("ckpt.npz"));  // module only: optimizer entries are ignored
  train_steps(*c, opt_c, 3, 4);
  CHECK(snapshot(*a) != snapshot(*c));
}

TEST_CASE("mismatched checkpoints list every problem and leave module and optimizer untouched") {
  TempDir dir;
  auto a = make_model(1);
  save(*a, dir.file("a.npz"));
  auto wider = make_model(2, 5);  // 5 hidden channels instead of 4
  wider->push_back(std::make_shared<Conv2d>(Conv2dOptions(2, 2, 1)));
  auto before = snapshot(*wider);
  std::string msg = load_error(*wider, dir.file("a.npz"));
  CHECK(msg.find("a.npz") != std::string::npos);
  INFO(msg);
  CHECK(msg.find("9 problem(s)") != std::string::npos);
  CHECK(msg.find("shape mismatch for '0.weight': the module has [5, 1, 3, 3], the state dict [4, 1, 3, 3]") !=
        std::string::npos);
  CHECK(msg.find("shape mismatch for '3.weight'") != std::string::npos);
  CHECK(msg.find("missing '4.weight' (expected shape [2, 2, 1, 1])") != std::string::npos);
  CHECK(msg.find("missing '4.bias'") != std::string::npos);
  CHECK(snapshot(*wider) == before);

  // Fewer layers than the file: the extra entries are "unexpected".
  auto shorter = std::make_shared<Sequential>(std::make_shared<Conv2d>(Conv2dOptions(1, 4, 3).padding(1)));
  msg = load_error(*shorter, dir.file("a.npz"));
  CHECK(msg.find("unexpected '1.running_mean' (shape [4])") != std::string::npos);
  CHECK(msg.find("unexpected '3.weight'") != std::string::npos);

  // Optimizer state of another kind (Adam's moments into SGD with momentum): nothing changes.
  Adam adam(a->parameters(), AdamOptions());
  train_steps(*a, adam, 0, 1);
  save(*a, adam, dir.file("adam.npz"));
  auto b = make_model(3);
  SGD sgd(b->parameters(), SGDOptions(0.1).momentum(0.9));
  before = snapshot(*b);
  CHECK_THROWS_WITH_AS(load(*b, sgd, dir.file("adam.npz")),
                       doctest::Contains("optimizer state does not match (the module was not modified)"),
                       Error);
  CHECK(snapshot(*b) == before);
  CHECK(sgd.step_count() == 0);
  // A module-only file has no optimizer state to restore.
  CHECK_THROWS_WITH_AS(load(*b, sgd, dir.file("a.npz")), doctest::Contains("'step' is missing"), Error);
  CHECK(snapshot(*b) == before);
}

TEST_CASE("truncated, corrupted, empty and missing files give clear errors, never a crash") {
  TempDir dir;
  auto a = make_model(1);
  save(*a, dir.file("good.npz"));
  const std::string good = read_bytes(dir.file("good.npz"));
  auto m = make_model(2);
  const auto before = snapshot(*m);

  std::vector<std::pair<std::string, std::string>> bad = {
      {"empty.npz", ""},
      {"text.npz", "this is not a zip file at all"},
      {"half.npz", good.substr(0, good.size() / 2)},
      {"no_tail.npz", good.substr(0, good.size() - 10)},
  };
  // Every single-byte corruption at a spread of offsets (headers, data, directory) must be caught.
  for (size_t off = 0; off < good.size(); off += good.size() / 23 + 1) {
    std::string c = good;
    c[off] = static_cast<char>(c[off] ^ 0x5a);
    bad.emplace_back("flip_" + std::to_string(off) + ".npz", c);
  }
  int caught = 0;
  for (const auto& [name, bytes] : bad) {
    write_bytes(dir.file(name), bytes);
    auto fresh = make_model(2);
    std::string msg = load_error(*fresh, dir.file(name));
    INFO(name << ": " << msg);
    if (msg.empty()) {
      // A flip in a field the reader may ignore (e.g. ZIP flag bits): then the data must be intact.
      CHECK(snapshot(*fresh) == snapshot(*a));
      continue;
    }
    ++caught;
    CHECK(msg.find(name) != std::string::npos);  // the error names the file
    CHECK(msg.find("nothing was loaded") != std::string::npos);
    CHECK(snapshot(*fresh) == before);
  }
  CHECK(caught >= static_cast<int>(bad.size()) - 3);
  CHECK(load_error(*m, dir.file("does_not_exist.npz")).find("does_not_exist.npz") != std::string::npos);
  CHECK_THROWS_AS(save(*a, dir.file("no_such_dir/x.npz")), Error);
}

TEST_CASE("a crash in the middle of a save leaves the previous checkpoint intact") {
  TempDir dir;
  const std::string path = dir.file("ckpt.npz");
  // Big enough (4 MB) that a save takes tens of milliseconds, so kills can land mid-write.
  Generator gen(1);
  auto old_model = std::make_shared<Sequential>(std::make_shared<Linear>(LinearOptions(1000, 1000), gen));
  auto new_model = std::make_shared<Sequential>(std::make_shared<Linear>(LinearOptions(1000, 1000), gen));
  auto t0 = std::chrono::steady_clock::now();
  save(*old_model, path);
  const double save_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  const auto old_state = snapshot(*old_model), new_state = snapshot(*new_model);
  // Kill a child that saves the new model in a loop, at various fractions of one save's duration, until
  // some kills have demonstrably interrupted a write (a killed save leaves its temporary file behind).
  int64_t interrupted = 0, attempts = 0;
  const double fractions[] = {0.5, 0.7, 0.8, 0.9, 1.0, 1.3, 1.7, 2.4};
  while ((interrupted < 2 || attempts < 5) && attempts < 40) {
    double delay = save_us * fractions[attempts % 8];
    ++attempts;
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (;;) save(*new_model, path);  // killed at some point inside this loop
    }
    ::usleep(static_cast<useconds_t>(delay));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    auto reader = std::make_shared<Sequential>(std::make_shared<Linear>(LinearOptions(1000, 1000)));
    load(*reader, path);  // must not throw: the file is always a complete checkpoint
    auto got = snapshot(*reader);
    CHECK((got == old_state || got == new_state));
    for (const auto& entry : fs::directory_iterator(dir.path))
      if (entry.path().string() != path) {
        ++interrupted;
        fs::remove(entry.path());
      }
  }
  CHECK(interrupted >= 1);
  MESSAGE(interrupted << " of " << attempts
                      << " kills interrupted a save; the checkpoint survived every one");
}
