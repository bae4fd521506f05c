//! Where tasks wait to run: in the server's process ([`memory`]) or in RabbitMQ ([`amqp`]),
//! in plugmill's messages or the seed's Celery ones ([`celery`]), as [`choice`] picks from
//! the configuration and the environment.

pub mod amqp;
pub mod celery;
pub mod choice;
pub mod memory;
