//! `/organization/{idOrg}/…`: an organization's keys and nodes, for its members
//! (reading) and its OWNERs and ADMINISTRATORs (changing), through the one
//! authorization gate in routes::account.

pub mod key_create;
pub mod key_list;
pub mod key_revoke;
pub mod keys_revoke_all;
pub mod node_delete;
pub mod node_env_delete;
pub mod node_env_list;
pub mod node_env_put;
pub mod nodes_list;
