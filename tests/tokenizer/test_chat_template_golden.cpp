// Byte-for-byte agreement with Hugging Face: every tests/golden/chat/*.json case (made by
// tools/make_template_goldens.py with transformers' apply_chat_template) is rendered with our interpreter.
// Skipped while the goldens have not been generated.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokenizer/chat_template.h"
#include "util/error.h"

namespace fs {
namespace {

using ojson = nlohmann::ordered_json;

// Where two renderings first differ, with some context, so a failure is readable.
std::string first_difference(const std::string& got, const std::string& want) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  size_t from = i < 40 ? 0 : i - 40;
  return "first difference at byte " + std::to_string(i) + ":\n  ours: " + ojson(got.substr(from, 80)).dump() +
         "\n  HF:   " + ojson(want.substr(from, 80)).dump();
}

TEST(ChatTemplateGolden, MatchesHuggingFace) {
  const std::filesystem::path dir = test::source_path("tests/golden/chat");
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(dir))
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      if (entry.path().extension() == ".json") files.push_back(entry.path());
  if (files.empty()) GTEST_SKIP() << "no goldens in tests/golden/chat: run tools/make_template_goldens.py";
  std::sort(files.begin(), files.end());

  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    ojson g = ojson::parse(test::read_text_file(path.string()));
    ChatTemplate t = ChatTemplate::from_model_dir(
        test::source_path("tests/data/tokenizers/" + g.at("template").get<std::string>()));
    ojson extra = g.value("kwargs", ojson::object());
    if (g.contains("tools") && !g["tools"].is_null()) extra["tools"] = g["tools"];
    const bool add_generation_prompt = g.at("add_generation_prompt").get<bool>();
    if (g.contains("expected_error")) {
      EXPECT_THROW(t.render(g.at("messages"), add_generation_prompt, extra), Error)
          << "HF refused this case: " << g["expected_error"].get<std::string>();
      continue;
    }
    const std::string want = g.at("expected").get<std::string>();
    const std::string got = t.render(g.at("messages"), add_generation_prompt, extra);
    EXPECT_EQ(got, want) << first_difference(got, want);
  }
}

}  // namespace
}  // namespace fs
