export { dashboardMount, CSP, PREFIX, type DashboardOptions } from "./handler.ts";
