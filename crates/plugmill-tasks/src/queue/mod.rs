//! Where tasks wait to run: in the server's process ([`memory`]) or in RabbitMQ ([`amqp`]).

pub mod amqp;
pub mod memory;
