// SPDX-License-Identifier: Apache-2.0
// Membrane stage: nine banks by output (y mod 3, x mod 3) updated once per active input position.

`default_nettype none

module membrane_array #(
  parameter int Lanes = 8,   // output channels per membrane word, >= 1
  parameter int AccW  = 16,  // signed accumulator bits, 12 .. 32
  parameter int MaxH  = 16,  // largest map height, 2 .. 32
  parameter int MaxW  = 16,  // largest map width, 2 .. 32
  localparam int YW = $clog2(MaxH),
  localparam int XW = $clog2(MaxW),
  localparam int PosW = YW + XW,
  localparam int QYW = ((MaxH + 2) / 3 > 1) ? $clog2((MaxH + 2) / 3) : 1,
  localparam int QXW = ((MaxW + 2) / 3 > 1) ? $clog2((MaxW + 2) / 3) : 1,
  localparam int BAW = QYW + QXW,
  localparam int LW = Lanes * AccW,
  localparam int PsW = 9 * LW
) (
  input  wire logic            clk_i,
  input  wire logic            rst_i,      // synchronous, active high
  // Layer shape
  input  wire logic            kernel3_i,  // 3x3 pad 1 (else 1x1 pad 0)
  input  wire logic            stride2_i,
  input  wire logic [5:0]      out_h_i,    // conv output height (before pooling)
  input  wire logic [5:0]      out_w_i,
  // Partial sums of input position up_pos_i = {y, x}; taken in every valid cycle
  input  wire logic            up_valid_i,
  output logic                 up_ready_o,
  input  wire logic [PosW-1:0] up_pos_i,
  input  wire logic [PsW-1:0]  up_data_i,  // [(k*Lanes+l)*AccW +: AccW], k = ky*3 + kx
  // Fire-stage port: read one bank word (data one cycle later), clear one word to zero
  input  wire logic            rd_en_i,
  input  wire logic [3:0]      rd_bank_i,  // (y mod 3) * 3 + (x mod 3)
  input  wire logic [BAW-1:0]  rd_addr_i,  // {y / 3, x / 3}
  output logic      [LW-1:0]   rd_data_o,
  input  wire logic            clr_en_i,
  input  wire logic            clr_all_i,  // clear clr_addr_i in every bank
  input  wire logic [3:0]      clr_bank_i,
  input  wire logic [BAW-1:0]  clr_addr_i,
  // Status
  output logic                 busy_o,     // an update is still being written
  output logic                 fwd_o       // a bank took a forwarded sum this cycle
);

  function automatic logic [4:0] div3(input logic [5:0] v);
    logic [4:0] q;
    q = '0;
    for (int i = 1; i < 22; i++) begin
      if (v >= 6'($unsigned(3 * i))) q = 5'($unsigned(i));
    end
    return q;
  endfunction

  function automatic logic [1:0] mod3(input logic [5:0] v);
    logic [5:0] q;
    q = {1'b0, div3(v)};
    return 2'(v - (q + (q << 1)));
  endfunction

  // Targets. Input row iy reaches output row oy through kernel row ky when
  // oy * stride = iy + 1 - ky (a 1x1 kernel uses only ky = 1); the same holds for columns.
  logic [5:0]  iy, ix;
  logic [2:0]  vy, vx;            // target valid per kernel row / column
  logic [4:0]  qy [3], qx [3];
  logic [1:0]  ry [3], rx [3];

  assign iy = 6'(up_pos_i[PosW-1:XW]);
  assign ix = 6'(up_pos_i[XW-1:0]);

  always_comb begin
    for (int k = 0; k < 3; k++) begin
      logic [6:0] ty, tx;
      logic [5:0] oy, ox;
      ty = {1'b0, iy} + 7'd1 - 7'($unsigned(k));
      tx = {1'b0, ix} + 7'd1 - 7'($unsigned(k));
      oy = stride2_i ? {1'b0, ty[5:1]} : ty[5:0];
      ox = stride2_i ? {1'b0, tx[5:1]} : tx[5:0];
      vy[k] = ~ty[6] & ~(stride2_i & ty[0]) & (oy < out_h_i) & (kernel3_i | (k == 1));
      vx[k] = ~tx[6] & ~(stride2_i & tx[0]) & (ox < out_w_i) & (kernel3_i | (k == 1));
      qy[k] = div3(oy);
      qx[k] = div3(ox);
      ry[k] = mod3(oy);
      rx[k] = mod3(ox);
    end
  end

  // Stage 1: every bank finds the one kernel offset that hits it and reads its word.
  logic [8:0]     en1;
  logic [BAW-1:0] addr1 [9];
  logic [LW-1:0]  ps1 [9];
  logic [LW-1:0]  up_k [9];       // partial sums of kernel offset k

  for (genvar k = 0; k < 9; k++) begin : g_off
    assign up_k[k] = up_data_i[k*LW +: LW];
  end

  always_comb begin
    for (int b = 0; b < 9; b++) begin
      logic       hy, hx;
      logic [1:0] sy, sx;
      hy = 1'b0;
      hx = 1'b0;
      sy = 2'd0;
      sx = 2'd0;
      for (int k = 0; k < 3; k++) begin
        if (vy[k] && 32'(ry[k]) == $unsigned(b / 3)) begin
          hy = 1'b1;
          sy = 2'($unsigned(k));
        end
        if (vx[k] && 32'(rx[k]) == $unsigned(b % 3)) begin
          hx = 1'b1;
          sx = 2'($unsigned(k));
        end
      end
      en1[b]   = up_valid_i & hy & hx;
      addr1[b] = {qy[sy][QYW-1:0], qx[sx][QXW-1:0]};
      ps1[b]   = up_k[{2'b00, sy} + {1'b0, sy, 1'b0} + {2'b00, sx}];
    end
  end

  // Stage 2: add and write back. A word read in the cycle its previous update is written would
  // be stale, so that update's sum is forwarded instead.
  logic [8:0]    v2_vec, fwd2_vec;
  logic [LW-1:0] bank_rdata [9];
  logic [3:0]    rd_bank_q;

  for (genvar b = 0; b < 9; b++) begin : g_bank
    logic           v2_q, fwd2_q;
    logic [BAW-1:0] addr2_q;
    logic [LW-1:0]  ps2_q, fwd_data_q, rdata, sum2;
    logic           we, re;
    logic [BAW-1:0] waddr, raddr;
    logic [LW-1:0]  wdata;

    // One process per bank word (not one assign per lane) keeps Icarus from rebuilding the word
    // on every lane's change.
    always_comb begin
      for (int l = 0; l < Lanes; l++) begin
        sum2[l*AccW +: AccW] = (fwd2_q ? fwd_data_q[l*AccW +: AccW] : rdata[l*AccW +: AccW])
                             + ps2_q[l*AccW +: AccW];
      end
    end

    assign re    = en1[b] | (rd_en_i & (rd_bank_i == 4'($unsigned(b))));
    assign raddr = en1[b] ? addr1[b] : rd_addr_i;
    assign we    = v2_q | (clr_en_i & (clr_all_i | (clr_bank_i == 4'($unsigned(b)))));
    assign waddr = v2_q ? addr2_q : clr_addr_i;
    assign wdata = v2_q ? sum2 : '0;

    conv_sdp_ram #(
      .Width (LW),
      .Depth (2 ** BAW),
      .Slices(1)
    ) u_bank (
      .clk_i  (clk_i),
      .we_i   (we),
      .waddr_i(waddr),
      .wdata_i(wdata),
      .re_i   (re),
      .raddr_i(raddr),
      .rdata_o(rdata)
    );

    always_ff @(posedge clk_i) begin
      if (rst_i) begin
        v2_q   <= 1'b0;
        fwd2_q <= 1'b0;
      end else begin
        v2_q   <= en1[b];
        fwd2_q <= en1[b] & v2_q & (addr1[b] == addr2_q);
      end
    end

    always_ff @(posedge clk_i) begin
      addr2_q    <= addr1[b];
      ps2_q      <= ps1[b];
      fwd_data_q <= sum2;
    end

    assign v2_vec[b]     = v2_q;
    assign fwd2_vec[b]   = fwd2_q;
    assign bank_rdata[b] = rdata;
  end

  always_ff @(posedge clk_i) begin
    if (rd_en_i) rd_bank_q <= rd_bank_i;
  end

  assign rd_data_o  = bank_rdata[rd_bank_q];
  assign up_ready_o = 1'b1;
  assign busy_o     = v2_vec != '0;
  assign fwd_o      = fwd2_vec != '0;

`ifndef SYNTHESIS
  initial begin
    if (MaxH < 2 || MaxH > 32) $fatal(1, "membrane_array: MaxH must be 2..32, got %0d", MaxH);
    if (MaxW < 2 || MaxW > 32) $fatal(1, "membrane_array: MaxW must be 2..32, got %0d", MaxW);
  end

  always @(posedge clk_i) begin
    if (!rst_i) begin
      assert (!(up_valid_i && (rd_en_i || clr_en_i)))
        else $fatal(1, "membrane_array: fire-stage access during an update");
      assert (!(v2_vec != '0 && clr_en_i)) else $fatal(1, "membrane_array: clear during an update");
      assert (!(up_valid_i && 32'(iy) >= $unsigned(MaxH)))
        else $fatal(1, "membrane_array: row %0d", iy);
    end
  end
`endif

endmodule : membrane_array

`default_nettype wire
