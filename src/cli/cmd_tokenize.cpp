// fs tokenize / fs detokenize: the tokenizer from the command line, for scripts and for checking against Hugging Face.
//
//   fs tokenize --model DIR [--special] [--jsonl]
//       stdin → ids. Without --jsonl all of stdin is one text (a final newline is part of it: use printf, not
//       echo, to leave it out) and one JSON array is printed. With --jsonl every stdin line is a JSON string and
//       every output line the JSON array of its ids. --special runs the post-processor (BOS/EOS as the model's
//       tokenizer.json asks); without it nothing is added. Added tokens written in the text (<|im_start|>) are
//       always recognized.
//   fs detokenize --model DIR [--ids "1,2,3"] [--skip-special]
//       ids (from --ids or stdin; separated by commas and/or whitespace, brackets allowed) → the decoded text,
//       printed exactly, with no newline added. Special tokens are shown unless --skip-special.
// Only tokenizer.json is needed in DIR. Errors are fs::Error (main prints them).
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace fs::cli {
namespace {

std::string read_all_stdin() {
  std::ios::sync_with_stdio(false);
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

std::string ids_json(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t k = 0; k < ids.size(); ++k) {
    if (k) s += ',';
    s += std::to_string(ids[k]);
  }
  return s + "]";
}

// "1,2,3", "1 2 3", "[1, 2, 3]" → ids; each must be a token id of `tok`.
std::vector<int32_t> parse_ids(const std::string& text, const std::string& source, const Tokenizer& tok) {
  std::vector<int32_t> ids;
  std::string item;
  auto flush = [&] {
    if (item.empty()) return;
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size()) throw Error(source + ": \"" + item + "\" is not a token id");
    if (v < 0 || v >= tok.vocab_size()) {
      throw Error(source + ": id " + item + " is out of range (vocabulary size " + std::to_string(tok.vocab_size()) +
                  ")");
    }
    ids.push_back(int32_t(v));
    item.clear();
  };
  for (const char c : text) {
    if (c == ',' || c == '[' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      flush();
    } else {
      item += c;
    }
  }
  flush();
  return ids;
}

struct TokenizeOptions {
  std::string model;
  bool special = false;
  bool jsonl = false;
};

void run_tokenize(const TokenizeOptions& o) {
  const Tokenizer tok = Tokenizer::load(o.model);
  if (!o.jsonl) {
    std::cout << ids_json(tok.encode(read_all_stdin(), o.special)) << '\n';
    return;
  }
  std::ios::sync_with_stdio(false);
  std::string line;
  for (size_t number = 1; std::getline(std::cin, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      throw Error("stdin line " + std::to_string(number) + ": not valid JSON (--jsonl expects one JSON string per line)");
    }
    if (!j.is_string()) throw Error("stdin line " + std::to_string(number) + ": expected a JSON string");
    std::cout << ids_json(tok.encode(j.get<std::string>(), o.special)) << '\n';
  }
}

struct DetokenizeOptions {
  std::string model;
  std::string ids;
  bool skip_special = false;
};

void run_detokenize(const DetokenizeOptions& o) {
  const Tokenizer tok = Tokenizer::load(o.model);
  const std::vector<int32_t> ids =
      o.ids.empty() ? parse_ids(read_all_stdin(), "stdin", tok) : parse_ids(o.ids, "--ids", tok);
  std::cout << tok.decode(ids, o.skip_special) << std::flush;
}

}  // namespace

void add_tokenize_commands(CLI::App& app) {
  auto topts = std::make_shared<TokenizeOptions>();
  CLI::App* t = app.add_subcommand("tokenize", "Print the token ids of the text on stdin as a JSON array");
  t->add_option("--model", topts->model, "Model folder holding tokenizer.json")->required();
  t->add_flag("--special", topts->special, "Add special tokens (BOS/EOS) as the tokenizer's post-processor does");
  t->add_flag("--jsonl", topts->jsonl, "Each stdin line is a JSON string; print one JSON array of ids per line");
  t->callback([topts] { run_tokenize(*topts); });

  auto dopts = std::make_shared<DetokenizeOptions>();
  CLI::App* d = app.add_subcommand("detokenize", "Print the text of token ids (from --ids or stdin)");
  d->add_option("--model", dopts->model, "Model folder holding tokenizer.json")->required();
  d->add_option("--ids", dopts->ids, "Token ids, e.g. \"9707,1879\" (default: read them from stdin)");
  d->add_flag("--skip-special", dopts->skip_special, "Leave out special tokens");
  d->callback([dopts] { run_detokenize(*dopts); });
}

}  // namespace fs::cli
