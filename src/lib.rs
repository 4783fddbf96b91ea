//! CNN Lab: build, train and look inside convolutional neural networks.
pub mod bench;
pub mod cnn;
