"""Files rendered from the entity model by dashboard-template. Do not edit: `copier update` rewrites them."""
