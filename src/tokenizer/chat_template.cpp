// Loading a model's chat template and rendering conversations with it (see chat_template.h).
#include "tokenizer/chat_template.h"

#include <fstream>
#include <sstream>

#include "tokenizer/jinja_interpreter.h"
#include "tokenizer/jinja_json.h"
#include "util/error.h"

namespace fs {
namespace {

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// A special token in tokenizer_config.json: "text", {"content": "text", ...} (an AddedToken), or null/absent.
std::string token_text(const nlohmann::json& config, const char* key, const std::string& path) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  throw Error(path + ": \"" + key + "\" must be a string or an object with a string \"content\"");
}

std::string template_text(const nlohmann::json& value, const std::string& where) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    // [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]: the default one is for chat
    for (const auto& entry : value)
      if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
          entry["template"].is_string())
        return entry["template"].get<std::string>();
    throw Error(where + ": \"chat_template\" is a list of named templates without one named \"default\"");
  }
  throw Error(where + ": \"chat_template\" must be a string or a list of {name, template}");
}

template <typename Json>
std::string render_impl(const jinja::Template& tmpl, const std::string& bos, const std::string& eos,
                        const Json& messages, bool add_generation_prompt, const Json& extra) {
  if (!messages.is_array()) throw Error("chat messages must be a JSON array of {\"role\", \"content\"} objects");
  if (!extra.is_object()) throw Error("chat template variables (extra) must be a JSON object");
  jinja::Dict vars;
  vars.set("messages", jinja::from_json(messages));
  vars.set("tools", jinja::Value::none());
  vars.set("documents", jinja::Value::none());
  vars.set("add_generation_prompt", jinja::Value(add_generation_prompt));
  if (!bos.empty()) vars.set("bos_token", jinja::Value(bos));
  if (!eos.empty()) vars.set("eos_token", jinja::Value(eos));
  for (auto it = extra.begin(); it != extra.end(); ++it) vars.set(it.key(), jinja::from_json(it.value()));
  return tmpl.render(vars);
}

}  // namespace

ChatTemplate ChatTemplate::from_model_dir(const std::string& dir) {
  const std::string path = dir + "/tokenizer_config.json";
  std::string text;
  if (!read_file(path, text)) throw Error(path + ": cannot open (a chat template needs tokenizer_config.json)");
  nlohmann::json config = nlohmann::json::parse(text, nullptr, false);
  if (config.is_discarded() || !config.is_object()) throw Error(path + ": not a JSON object");
  std::string source;
  if (config.contains("chat_template") && !config["chat_template"].is_null()) {
    source = template_text(config["chat_template"], path);
  } else if (!read_file(dir + "/chat_template.jinja", source)) {
    std::string json_text;  // an older split-out form: chat_template.json = {"chat_template": "..."}
    nlohmann::json side = read_file(dir + "/chat_template.json", json_text)
                              ? nlohmann::json::parse(json_text, nullptr, false)
                              : nlohmann::json();
    if (!side.is_object() || !side.contains("chat_template"))
      throw Error(path + ": no \"chat_template\" (and no chat_template.jinja beside it): this model has no chat "
                         "template");
    source = template_text(side["chat_template"], dir + "/chat_template.json");
  }
  return ChatTemplate(std::move(source), token_text(config, "bos_token", path), token_text(config, "eos_token", path));
}

ChatTemplate::ChatTemplate(std::string source, std::string bos_token, std::string eos_token)
    : source_(std::move(source)), bos_token_(std::move(bos_token)), eos_token_(std::move(eos_token)),
      template_(std::make_shared<const jinja::Template>(source_)) {}

std::string ChatTemplate::render(const nlohmann::json& messages, bool add_generation_prompt,
                                 const nlohmann::json& extra) const {
  return render_impl(*template_, bos_token_, eos_token_, messages, add_generation_prompt, extra);
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& extra) const {
  return render_impl(*template_, bos_token_, eos_token_, messages, add_generation_prompt, extra);
}

}  // namespace fs
