/** Who is making a request, as upstream's user.Info: what admission, audit and authorization see. */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** The identity of writes the API server makes on its own behalf and of the in-process client (upstream's loopback client). */
export const LOOPBACK_USER: UserInfo = Object.freeze({ name: 'system:apiserver', groups: ['system:masters', 'system:authenticated'] }) as UserInfo;
