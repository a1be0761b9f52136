import { fail, type ApiResult } from "./api-types.ts";
import { emptyArray, invalidType, invalidValue, missingParam } from "./errors.ts";
import type { Tokenizer } from "./tokens.ts";

/** Counted input: prompt tokens and the text the reply is derived from (the last user turn). */
export interface Prompt {
  readonly tokens: number;
  readonly lastUserText: string;
}

const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);
const ROLE_VALUES = "Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.";
/** What one image costs at low detail. */
const IMAGE_TOKENS = 85;

/**
 * Text of a content field: a string, or parts (`text`, `input_text`,
 * `output_text`); images add their token cost to `extra`.
 */
function contentText(content: unknown, param: string, tokenizer: Tokenizer): { text: string; tokens: number } | ApiResult {
  if (typeof content === "string") return { text: content, tokens: tokenizer.count(content) };
  if (content === null || content === undefined) return { text: "", tokens: 0 };
  if (!Array.isArray(content)) return fail(invalidType(param, "one of a string or an array of objects", content));
  let text = "";
  let tokens = 0;
  for (let i = 0; i < content.length; i++) {
    const part = content[i] as Record<string, unknown> | null;
    if (typeof part !== "object" || part === null) return fail(invalidType(`${param}[${i}]`, "an object", part));
    if (typeof part.text === "string") {
      text = text === "" ? part.text : `${text}\n${part.text}`;
      tokens += tokenizer.count(part.text);
    } else if (part.type === "image_url" || part.type === "input_image") {
      tokens += IMAGE_TOKENS;
    }
  }
  return { text, tokens };
}

/** True when counting failed with an answer. */
export function isPromptResult(value: object): value is ApiResult {
  return "kind" in value;
}

/**
 * Counts chat messages as OpenAI does (cookbook rule for current models: 3
 * tokens per message, 1 per name, 3 to prime the reply).
 */
export function countMessages(messages: unknown, tokenizer: Tokenizer, param = "messages"): Prompt | ApiResult {
  if (messages === undefined) return fail(missingParam(param));
  if (!Array.isArray(messages)) return fail(invalidType(param, "an array", messages));
  if (messages.length === 0) return fail(emptyArray(param));
  let tokens = 3;
  let lastUserText: string | null = null;
  let lastText = "";
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Record<string, unknown> | null;
    const at = `${param}[${i}]`;
    if (typeof m !== "object" || m === null || Array.isArray(m)) return fail(invalidType(at, "an object", m));
    const role = m.role;
    if (role === undefined) return fail(missingParam(`${at}.role`));
    if (typeof role !== "string" || !ROLES.has(role)) {
      return fail(invalidValue(`${at}.role`, `Invalid value: '${String(role)}'. ${ROLE_VALUES}`));
    }
    if (m.content === undefined && role !== "assistant") return fail(missingParam(`${at}.content`));
    const content = contentText(m.content, `${at}.content`, tokenizer);
    if (isPromptResult(content)) return content;
    tokens += 3 + tokenizer.count(role) + content.tokens;
    if (typeof m.name === "string") tokens += 1 + tokenizer.count(m.name);
    if (m.tool_calls !== undefined) tokens += tokenizer.count(JSON.stringify(m.tool_calls));
    if (role === "user") lastUserText = content.text;
    lastText = content.text;
  }
  return { tokens, lastUserText: lastUserText ?? lastText };
}

/** Tool and function definitions cost tokens too. */
export function countTools(body: Record<string, unknown>, tokenizer: Tokenizer): number {
  let tokens = 0;
  if (Array.isArray(body.tools) && body.tools.length > 0) tokens += tokenizer.count(JSON.stringify(body.tools));
  if (Array.isArray(body.functions) && body.functions.length > 0) tokens += tokenizer.count(JSON.stringify(body.functions));
  return tokens;
}
