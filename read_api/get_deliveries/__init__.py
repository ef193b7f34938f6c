"""GetDeliveries: the delivery log of a workspace's integrations."""
