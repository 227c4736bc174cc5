export { NodeAuthorizer, nodeIdentity, NODES_GROUP, NODE_USER_PREFIX, NODE_LEASE_NAMESPACE } from './authorizer.js';
export { NodeGraph } from './graph.js';
export { NODE_RULES, nodeRulesAllow } from './rules.js';
