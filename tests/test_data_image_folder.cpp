// ImageFolder: the scan (recursive, sorted, extensions, class folders as torchvision), the cache,
// and bad files in Skip and Error modes through a DataLoader.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "layers/convgrad.h"

using namespace convgrad;
using namespace convgrad::data;
namespace fs = std::filesystem;

namespace {

/// A fresh folder under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("convgrad_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& rel) const {
    fs::create_directories((path / rel).parent_path());
    return (path / rel).string();
  }
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// An image whose every pixel holds `value`, so a sample tells which file it came from.
void write_npy_image(const std::string& path, float value, int64_t h = 6, int64_t w = 6) {
  save_npy(path, full({3, h, w}, value));
}

std::vector<std::string> names(const ImageFolder& f) {
  std::vector<std::string> out;
  for (const auto& [p, label] : f.samples())
    out.push_back(fs::relative(p, f.root()).string() + ":" + std::to_string(label));
  return out;
}

}  // namespace

TEST_CASE("class sub-folders become labels in sorted order; files are found recursively and sorted") {
  TempDir d("classes");
  write_npy_image(d.file("dog/b.npy"), 1);
  write_npy_image(d.file("dog/a.NPY"), 2);  // extensions compare case-insensitively
  write_npy_image(d.file("dog/deeper/c.npy"), 3);
  write_npy_image(d.file("cat/z.npy"), 4);
  write_npy_image(d.file("ant/x.npy"), 5);
  write_text(d.file("ant/notes.txt"), "not an image");
  write_npy_image(d.file("root_file.npy"), 6);  // beside class folders: ignored, as torchvision
  ImageFolder f(d.path.string(), ImageFolderOptions().loader(load_npy));
  CHECK(f.classes() == std::vector<std::string>{"ant", "cat", "dog"});
  CHECK(f.class_to_idx() == std::map<std::string, int64_t>{{"ant", 0}, {"cat", 1}, {"dog", 2}});
  CHECK(names(f) == std::vector<std::string>{"ant/x.npy:0", "cat/z.npy:1", "dog/a.NPY:2", "dog/b.npy:2",
                                             "dog/deeper/c.npy:2"});
  Generator g(0);
  Example ex = f.get(3, g);
  CHECK(ex.label == 2);
  CHECK(ex.path == (d.path / "dog/b.npy").string());
  CHECK(ex.input.shape() == Shape{3, 6, 6});
  CHECK(ex.input.at<float>({2, 5, 5}) == 1.f);
  CHECK_THROWS_AS(f.get(5, g), Error);
  // Only the extensions asked for, with or without the dot.
  write_text(d.file("ant/y.bin"), "x");
  ImageFolder only(d.path.string(),
                   ImageFolderOptions().loader(load_npy).extensions({"txt"}).class_folders(false));
  CHECK(names(only) == std::vector<std::string>{"ant/notes.txt:-1"});
}

TEST_CASE("a folder of images without class folders is an unlabelled dataset") {
  TempDir d("flat");
  write_npy_image(d.file("b.npy"), 2);
  write_npy_image(d.file("a.npy"), 1);
  ImageFolder f(d.path.string(), ImageFolderOptions().loader(load_npy));
  CHECK(f.classes().empty());
  CHECK(names(f) == std::vector<std::string>{"a.npy:-1", "b.npy:-1"});
  // class_folders(false) reads sub-folders too, still unlabelled.
  write_npy_image(d.file("more/c.npy"), 3);
  ImageFolder all(d.path.string(), ImageFolderOptions().loader(load_npy).class_folders(false));
  CHECK(names(all) == std::vector<std::string>{"a.npy:-1", "b.npy:-1", "more/c.npy:-1"});
  ImageFolder classes(d.path.string(), ImageFolderOptions().loader(load_npy));
  CHECK(names(classes) == std::vector<std::string>{"more/c.npy:0"});
}

TEST_CASE("scan errors name the folder") {
  TempDir d("errors");
  CHECK_THROWS_WITH_AS(ImageFolder(d.path.string() + "/missing"), doctest::Contains("is not a folder"),
                       Error);
  CHECK_THROWS_WITH_AS(ImageFolder(d.path.string()),
                       doctest::Contains("no file ending in .png .jpg .jpeg .npy"), Error);
  write_npy_image(d.file("full/a.npy"), 1);
  fs::create_directories(d.path / "empty");
  const std::string want = "class folder '" + (d.path / "empty").string() + "' holds no file";
  CHECK_THROWS_WITH_AS(ImageFolder(d.path.string()), doctest::Contains(want.c_str()), Error);
  CHECK_THROWS_AS(ImageFolder(d.path.string(), ImageFolderOptions().extensions({})), Error);
}

TEST_CASE("cache_in_memory decodes each file once") {
  TempDir d("cache");
  write_npy_image(d.file("a.npy"), 1);
  write_npy_image(d.file("b.npy"), 2);
  int decodes = 0;
  auto counting = [&](const std::string& p) {
    ++decodes;
    return load_npy(p);
  };
  auto f = std::make_shared<ImageFolder>(
      d.path.string(),
      ImageFolderOptions().loader(counting).cache_in_memory(true).transform(RandomHorizontalFlip()));
  DataLoader loader(f, DataLoaderOptions().batch_size(2));
  for (int e = 0; e < 3; ++e)
    for (Batch& b : loader) CHECK(b.input.at<float>({1, 0, 0, 0}) == 2.f);
  CHECK(decodes == 2);
  ImageFolder uncached(d.path.string(), ImageFolderOptions().loader(counting));
  Generator g(0);
  uncached.get(0, g);
  uncached.get(0, g);
  CHECK(decodes == 4);
}

namespace {

// A folder of good PNGs (values k/255) and the four bad files the issue names: an empty file, a
// truncated PNG, a text file named .jpg and a 1x1 image (smaller than the crop).
struct BadFolder {
  TempDir dir{"bad"};
  std::vector<std::string> bad;
  BadFolder() {
    for (int k = 0; k < 6; ++k)
      write_png(dir.file("good" + std::to_string(k) + ".png"), full({3, 8, 8}, k / 255.0));
    bad.push_back(dir.file("empty.png"));
    write_text(bad.back(), "");
    const std::string whole = dir.file("whole.tmp");
    write_png(whole, rand({3, 16, 16}));
    std::ifstream in(whole, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    fs::remove(whole);
    bad.push_back(dir.file("truncated.png"));
    write_text(bad.back(), bytes.substr(0, bytes.size() / 2));
    bad.push_back(dir.file("notes.jpg"));
    write_text(bad.back(), "this is a text file, not a JPEG\n");
    bad.push_back(dir.file("tiny.png"));
    write_png(bad.back(), full({3, 1, 1}, 0.5));
  }
};

}  // namespace

// Captures what the process writes to stderr (fd 2) while it lives.
struct StderrCapture {
  std::string path = (fs::temp_directory_path() / ("convgrad_stderr_" + std::to_string(::getpid()))).string();
  int saved = -1;
  StderrCapture() {
    std::fflush(stderr);
    saved = ::dup(2);
    FILE* f = std::fopen(path.c_str(), "w");
    ::dup2(::fileno(f), 2);
    std::fclose(f);
  }
  std::string text() {
    std::fflush(stderr);
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  ~StderrCapture() {
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    fs::remove(path);
  }
};

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST_CASE("bad files are skipped with one warning each under BadFile::Skip") {
  BadFolder f;
  StderrCapture err;
  auto ds = std::make_shared<ImageFolder>(
      f.dir.path.string(), ImageFolderOptions().on_bad_file(BadFile::Skip).transform(RandomCrop(4)));
  REQUIRE(ds->size() == 10);
  for (int64_t w : {0, 2}) {
    DataLoader loader(ds, DataLoaderOptions().batch_size(4).shuffle(true).num_workers(w));
    for (int epoch = 0; epoch < 2; ++epoch) {
      std::vector<std::string> seen;
      std::vector<float> values;
      for (Batch& b : loader) {
        CHECK(b.input.shape() == Shape{b.size(), 3, 4, 4});
        for (int64_t i = 0; i < b.size(); ++i) values.push_back(b.input.at<float>({i, 0, 0, 0}) * 255.f);
        seen.insert(seen.end(), b.paths.begin(), b.paths.end());
      }
      std::sort(seen.begin(), seen.end());
      std::sort(values.begin(), values.end());
      REQUIRE(seen.size() == 6);  // the six good files, each once
      for (int k = 0; k < 6; ++k) {
        CHECK(seen[static_cast<size_t>(k)] == (f.dir.path / ("good" + std::to_string(k) + ".png")).string());
        CHECK(std::abs(values[static_cast<size_t>(k)] - k) < 1e-3);
      }
    }
  }
  CHECK(ds->bad_file_count() == 4);
  const std::string warnings = err.text();
  for (const std::string& bad : f.bad)
    CHECK_MESSAGE(count(warnings, bad + "'") + count(warnings, bad + " ") == 1, warnings);
  CHECK(count(warnings, "warning: ImageFolder: ") == 4);
}

TEST_CASE("the default loader reads PNG files as RGB, so grey and colour images batch together") {
  TempDir d("modes");
  write_png(d.file("a_grey.png"), full({1, 5, 5}, 51 / 255.0));
  write_png(d.file("b_rgb.png"), full({3, 5, 5}, 102 / 255.0));
  auto ds = std::make_shared<ImageFolder>(d.path.string());
  DataLoader loader(ds, DataLoaderOptions().batch_size(2));
  Batch b = *loader.begin();
  REQUIRE(b.input.shape() == Shape{2, 3, 5, 5});
  CHECK(std::abs(b.input.at<float>({0, 2, 4, 4}) - 51 / 255.f) < 1e-6);
  CHECK(std::abs(b.input.at<float>({1, 0, 0, 0}) - 102 / 255.f) < 1e-6);
  ImageFolder grey(d.path.string(), ImageFolderOptions().mode(ImageMode::Grey));
  Generator g(0);
  CHECK(grey.get(1, g).input.shape() == Shape{1, 5, 5});
}

TEST_CASE("under BadFile::Error the first bad file stops the epoch with its path") {
  BadFolder f;
  for (const std::string& bad : f.bad) {
    INFO("bad file " << bad);
    TempDir one("one_bad");
    fs::copy_file(f.dir.path / "good0.png", one.file("a.png"));
    fs::copy_file(bad, one.file("b" + fs::path(bad).extension().string()));
    auto ds = std::make_shared<ImageFolder>(one.path.string(), ImageFolderOptions().transform(RandomCrop(4)));
    for (int64_t w : {0, 2}) {
      DataLoader loader(ds, DataLoaderOptions().batch_size(1).num_workers(w));
      std::string message;
      int64_t good = 0;
      try {
        for (Batch& b : loader) good += b.size();
      } catch (const Error& e) {
        message = e.what();
      }
      CHECK(good == 1);
      CHECK(message.find("DataLoader: sample 1 (batch 1 of epoch 0)") != std::string::npos);
      CHECK(message.find(one.file("b" + fs::path(bad).extension().string())) != std::string::npos);
    }
  }
}
