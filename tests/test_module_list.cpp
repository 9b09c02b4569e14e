// ModuleList and Sequential built from a vector: PyTorch's "0", "1", ... names in children,
// parameters and state-dict keys, indexing, iteration, extend and errors.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/factory.h"
#include "core/random.h"
#include "layers/activation.h"
#include "layers/linear.h"
#include "layers/module_list.h"
#include "layers/sequential.h"

using namespace convgrad;

namespace {

std::vector<std::string> keys(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m.state_dict()) out.push_back(k);
  return out;
}

// A model holding its blocks in a ModuleList, like `self.blocks = nn.ModuleList([...])`.
class Tower : public Module {
 public:
  Tower() {
    blocks = register_module("blocks", std::make_shared<ModuleList>());
    for (int i = 0; i < 3; ++i) blocks->push_back(std::make_shared<Linear>(LinearOptions(2, 2)));
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = x;
    for (const auto& block : *blocks) h = block->forward(h);
    return h;
  }
  std::shared_ptr<ModuleList> blocks;
};

}  // namespace

TEST_CASE("ModuleList: names, indexing, iteration and extend") {
  ModuleList list({std::make_shared<Linear>(LinearOptions(4, 3)), std::make_shared<ReLU>()});
  auto lin = list.push_back(std::make_shared<Linear>(LinearOptions(3, 2).bias(false)));
  CHECK(lin->weight.shape() == Shape{2, 3});
  REQUIRE(list.size() == 3);
  CHECK(!list.empty());
  CHECK(list[1]->name() == "ReLU");
  CHECK(list.at<Linear>(2) == lin);
  CHECK_THROWS_AS(list.at<Linear>(1), Error);
  CHECK_THROWS_AS(list[3], Error);
  std::vector<std::string> names;
  for (const auto& m : list) names.push_back(m->name());
  CHECK(names == std::vector<std::string>{"Linear", "ReLU", "Linear"});
  CHECK(keys(list) == std::vector<std::string>{"0.weight", "0.bias", "2.weight"});

  ModuleList more(std::vector<std::shared_ptr<Module>>{std::make_shared<Linear>(LinearOptions(2, 2))});
  list.extend(more);
  list.extend({std::make_shared<ReLU>()});
  REQUIRE(list.size() == 5);
  CHECK(list.named_children()[3].first == "3");
  CHECK(list.named_children()[4].first == "4");
  CHECK(keys(list).back() == "3.bias");
  CHECK(list.parameters().size() == 5);
  CHECK_THROWS_AS(list.forward(zeros({1, 4})), Error);  // no forward, as in PyTorch
  CHECK_THROWS_AS(list.push_back(std::shared_ptr<Module>()), Error);
  CHECK(to_string(ModuleList({std::make_shared<ReLU>()})) == "ModuleList(\n  (0): ReLU()\n)");
}

TEST_CASE("ModuleList inside a model: dotted state-dict keys like PyTorch") {
  Tower t;
  CHECK(keys(t) == std::vector<std::string>{"blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
                                            "blocks.1.bias", "blocks.2.weight", "blocks.2.bias"});
  Generator gen(1);
  Tensor x = randn({3, 2}, gen);
  Tensor expected =
      t.blocks->at<Linear>(2)->forward(t.blocks->at<Linear>(1)->forward(t.blocks->at<Linear>(0)->forward(x)));
  CHECK(t.forward(x).to_vector<float>() == expected.to_vector<float>());
}

TEST_CASE("Sequential from a vector of modules") {
  std::vector<std::shared_ptr<Module>> layers;
  for (int i = 0; i < 3; ++i) {
    layers.push_back(std::make_shared<Linear>(LinearOptions(2, 2)));
    layers.push_back(std::make_shared<ReLU>());
  }
  Sequential seq(layers);
  REQUIRE(seq.size() == 6);
  CHECK(seq.named_children()[5].first == "5");
  CHECK(keys(seq) ==
        std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"});
  seq.extend({std::make_shared<Linear>(LinearOptions(2, 1))});
  CHECK(keys(seq).back() == "6.bias");
  Generator gen(2);
  Tensor x = randn({4, 2}, gen);
  Tensor h = x;
  for (const auto& m : layers) h = m->forward(h);
  h = seq[6]->forward(h);
  CHECK(seq.forward(x).to_vector<float>() == h.to_vector<float>());
}

namespace {

// [doc:module_list]
// A stack of blocks held in a ModuleList, like `self.blocks = nn.ModuleList([...])`.
class Stack : public Module {
 public:
  explicit Stack(int depth) {
    blocks = register_module("blocks", std::make_shared<ModuleList>());
    for (int i = 0; i < depth; ++i)
      blocks->push_back(std::make_shared<Linear>(LinearOptions(4, 4)));  // "0", "1", ...
    blocks->extend({std::make_shared<ReLU>()});
  }
  Tensor forward(const Tensor& x) override {  // ModuleList has no forward of its own
    Tensor h = x;
    for (const auto& m : *blocks) h = m->forward(h);
    return h;
  }
  std::shared_ptr<ModuleList> blocks;
};
// state_dict keys: blocks.0.weight, blocks.0.bias, blocks.1.weight, ...
// [/doc]

}  // namespace

TEST_CASE("ModuleList: the example of docs/padding-and-pooling.md") {
  Stack s(2);
  CHECK(keys(s) ==
        std::vector<std::string>{"blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"});
  CHECK(s.blocks->size() == 3);
  // [doc:sequential]
  std::vector<std::shared_ptr<Module>> layers;
  for (int i = 0; i < 3; ++i) layers.push_back(std::make_shared<Linear>(LinearOptions(4, 4)));
  Sequential seq(layers);  // children "0", "1", "2", like nn.Sequential(*layers)
  // [/doc]
  CHECK(seq.size() == 3);
  CHECK(s.forward(zeros({2, 4})).shape() == Shape{2, 4});
}
