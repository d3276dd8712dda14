import { mode, onConnectionState, type ConnectionState } from "../api/client";

class Connection {
  state = $state<ConnectionState>("connecting");
  readonly mode = mode;
  constructor() {
    onConnectionState((s) => (this.state = s));
  }
}

export const connection = new Connection();
