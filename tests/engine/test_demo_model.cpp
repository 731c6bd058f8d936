// The bundled demo model (models/fs-demo-kjv) against Hugging Face: logits and hidden states on a fixed prompt,
// and the greedy continuation (tests/golden/demo, made by tools/make_demo_golden.py). Same tolerances as the tiny
// golden cases: 1e-4 relative L2; greedy ids equal where HF's top-2 margin exceeds 1e-3.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/generate.h"
#include "engine/generation_config.h"
#include "engine/model.h"
#include "test_util.h"

namespace fs {
namespace {

using nlohmann::json;

TEST(DemoModel, MatchesHuggingFace) {
  const auto gdir = test::source_path("tests/golden/demo");
  if (!std::filesystem::exists(gdir + "/golden.json")) GTEST_SKIP() << "no demo golden";
  const json g = json::parse(test::read_text_file(gdir + "/golden.json"));
  const auto mdir = test::source_path(g["model_dir"].get<std::string>());
  const auto prompt = g["prompt_ids"].get<std::vector<int32_t>>();
  auto be = make_cpu_backend(0);
  auto model = Model::load(mdir, *be, {});
  const auto& c = model->config();
  const size_t n = prompt.size(), H = size_t(c.hidden_size);
  const auto hidden = test::read_f32_file(gdir + "/hidden.f32");
  ASSERT_EQ(hidden.size(), size_t(c.n_layers) * n * H);
  model->set_layer_hook([&](int l, const float* h, int) {
    EXPECT_LT(test::rel_l2(h, hidden.data() + size_t(l) * n * H, n * H), 1e-4) << "layer " << l;
  });
  model->forward(prompt.data(), int(n), true);
  EXPECT_LT(test::rel_l2(model->logits(), test::read_f32_file(gdir + "/logits.f32")), 1e-4);
  model->set_layer_hook(nullptr);

  // Greedy, ignoring EOS, for as many steps as HF ran.
  model->reset();
  const auto want = g["greedy_ids"].get<std::vector<int32_t>>();
  const auto margins = g["greedy_margins"].get<std::vector<double>>();
  GenerateOptions opt;
  opt.max_new_tokens = int(want.size());
  std::vector<int32_t> got;
  generate(*model, prompt, opt, [&](int32_t t) {
    got.push_back(t);
    return true;
  });
  for (size_t i = 0; i < want.size() && margins[i] > 1e-3; ++i) EXPECT_EQ(got[i], want[i]) << "step " << i;

  // With the EOS ids of generation_config.json, generation stops where HF's generate() stopped.
  model->reset();
  opt.stop_ids = load_generation_config(mdir, c).eos_ids;
  got.clear();
  generate(*model, prompt, opt, [&](int32_t t) {
    got.push_back(t);
    return true;
  });
  EXPECT_EQ(got, g["generate_ids"].get<std::vector<int32_t>>());
}

}  // namespace
}  // namespace fs
