//! goAML.
