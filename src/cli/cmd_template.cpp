// `fs template`: renders a conversation with a model's chat template and prints the prompt, byte for byte what
// HF's apply_chat_template(..., tokenize=False) gives, and nothing else (no trailing newline added).
//
//   fs template --model DIR --messages chat.json [--kwargs '{"enable_thinking": false}'] [--no-generation-prompt]
//
// chat.json holds a JSON array of {"role", "content", ...} messages, or an object {"messages": [...], "tools":
// [...]} (the form of tests/data/chat/*.json); "-" reads it from stdin. DIR needs only tokenizer_config.json.
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tokenizer/chat_template.h"
#include "util/error.h"

namespace fs::cli {
namespace {

using ojson = nlohmann::ordered_json;  // keeps key order, as the Python dicts HF renders do

struct TemplateOptions {
  std::string model;
  std::string messages;
  std::string kwargs = "{}";
  bool no_generation_prompt = false;
};

ojson parse_json(const std::string& text, const std::string& what) {
  try {
    return ojson::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(what + ": invalid JSON: " + e.what());
  }
}

std::string read_input(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the messages file");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void run_template(const TemplateOptions& opt) {
  ojson conversation = parse_json(read_input(opt.messages), opt.messages);
  ojson extra = parse_json(opt.kwargs, "--kwargs");
  if (!extra.is_object()) throw Error("--kwargs: must be a JSON object, like '{\"enable_thinking\": false}'");
  ojson messages;
  if (conversation.is_array()) {
    messages = std::move(conversation);
  } else if (conversation.is_object() && conversation.contains("messages")) {
    messages = conversation["messages"];
    if (conversation.contains("tools") && !conversation["tools"].is_null() && !extra.contains("tools"))
      extra["tools"] = conversation["tools"];
  } else {
    throw Error(opt.messages + ": expected a JSON array of messages, or an object with \"messages\"");
  }
  if (!messages.is_array()) throw Error(opt.messages + ": \"messages\" must be a JSON array");
  ChatTemplate chat_template = ChatTemplate::from_model_dir(opt.model);
  std::cout << chat_template.render(messages, !opt.no_generation_prompt, extra) << std::flush;
}

}  // namespace

void add_template_command(CLI::App& app) {
  auto opt = std::make_shared<TemplateOptions>();
  CLI::App* cmd = app.add_subcommand("template", "Print the prompt a model's chat template makes of a conversation");
  cmd->add_option("--model", opt->model, "Model directory (only its tokenizer_config.json is read)")->required();
  cmd->add_option("--messages", opt->messages,
                  "JSON file: an array of {role, content} messages, or {\"messages\": [...], \"tools\": [...]}; - for "
                  "stdin")
      ->required();
  cmd->add_option("--kwargs", opt->kwargs, "JSON object of extra template variables, e.g. '{\"enable_thinking\": false}'");
  cmd->add_flag("--no-generation-prompt", opt->no_generation_prompt,
                "End after the last message instead of opening the assistant's turn");
  cmd->callback([opt] { run_template(*opt); });
}

}  // namespace fs::cli
