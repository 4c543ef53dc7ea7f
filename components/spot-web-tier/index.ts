/** The Spot web tier: a load-balanced, diversified Spot Auto Scaling group to protect. */
export * from "./component";
