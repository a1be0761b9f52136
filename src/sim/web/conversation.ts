/** The ChatGPT web backend's conversation tree: nodes linked by parent and children. */
export interface WebMessage {
  id: string;
  author: { role: string; name: null; metadata: Record<string, never> };
  create_time: number;
  update_time: null;
  content: { content_type: "text"; parts: string[] };
  status: string;
  end_turn: boolean | null;
  weight: number;
  metadata: Record<string, unknown>;
  recipient: "all";
  channel: null;
}

export interface WebNode {
  id: string;
  message: WebMessage | null;
  parent: string | null;
  children: string[];
}

export function webMessage(id: string, role: string, text: string, status: string, endTurn: boolean | null, metadata: Record<string, unknown> = {}): WebMessage {
  return {
    id,
    author: { role, name: null, metadata: {} },
    create_time: Date.now() / 1000,
    update_time: null,
    content: { content_type: "text", parts: [text] },
    status,
    end_turn: endTurn,
    weight: 1,
    metadata,
    recipient: "all",
    channel: null,
  };
}

export class Conversation {
  readonly id: string;
  title: string;
  readonly createTime: number;
  updateTime: number;
  readonly mapping = new Map<string, WebNode>();
  currentNode: string;

  constructor(id: string, rootId: string, title: string) {
    this.id = id;
    this.title = title;
    this.createTime = Date.now() / 1000;
    this.updateTime = this.createTime;
    this.mapping.set(rootId, { id: rootId, message: null, parent: null, children: [] });
    this.currentNode = rootId;
  }

  /** Adds a message under `parent` and makes it the current node. */
  add(parent: string, message: WebMessage): WebNode {
    const node: WebNode = { id: message.id, message, parent, children: [] };
    this.mapping.get(parent)?.children.push(node.id);
    this.mapping.set(node.id, node);
    this.currentNode = node.id;
    this.updateTime = Date.now() / 1000;
    return node;
  }

  /** `GET /backend-api/conversation/{id}`. */
  toJSON(): Record<string, unknown> {
    return {
      title: this.title,
      create_time: this.createTime,
      update_time: this.updateTime,
      mapping: Object.fromEntries(this.mapping),
      moderation_results: [],
      current_node: this.currentNode,
      plugin_ids: null,
      conversation_id: this.id,
      conversation_template_id: null,
      gizmo_id: null,
      is_archived: false,
      safe_urls: [],
    };
  }

  /** An item of `GET /backend-api/conversations`. */
  summary(): Record<string, unknown> {
    return {
      id: this.id,
      title: this.title,
      create_time: new Date(this.createTime * 1000).toISOString(),
      update_time: new Date(this.updateTime * 1000).toISOString(),
      mapping: null,
      current_node: null,
      conversation_template_id: null,
      gizmo_id: null,
      is_archived: false,
      workspace_id: null,
    };
  }
}

/** A title from the first words of the first message, as ChatGPT's summariser roughly does. */
export function titleFrom(text: string): string {
  const words = text.replace(/\s+/g, " ").trim().split(" ").slice(0, 6).join(" ");
  if (words === "") return "New chat";
  return words.charAt(0).toUpperCase() + words.slice(1);
}
