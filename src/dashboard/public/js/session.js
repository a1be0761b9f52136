// The admin token for this tab only: sessionStorage (gone when the tab closes), never a URL or a cookie.
const KEY = "keypool.adminToken";

export const token = () => sessionStorage.getItem(KEY);
export const save = (value) => sessionStorage.setItem(KEY, value);
export const clear = () => sessionStorage.removeItem(KEY);
